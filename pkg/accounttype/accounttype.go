// Package accounttype resolves account types: it finds the nearest definition of a type name
// from an account up to root, follows the extends chain, merges what is inherited, and decides
// whether a child type may be created under a parent type. Where types are read from is up to
// the caller (storage inside the server, the API outside), so the rules live in one place. It
// also defines the built-in types that root holds from the start (Builtin); the server creates
// them.
//
// It must not read or write anything itself.
package accounttype

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// maxExtends bounds the extends chain, which also breaks cycles.
const maxExtends = 16

// Source reads AccountTypes and the tree.
type Source interface {
	// Get returns the AccountType name defined in account id, or nil if there is none.
	Get(ctx context.Context, id cluster.ID, name string) (*corev1alpha1.AccountType, error)
	// Parent returns the parent of account id, and false for root.
	Parent(ctx context.Context, id cluster.ID) (cluster.ID, bool, error)
}

// Type is a resolved account type: its own settings merged with those it extends.
type Type struct {
	// Name is the type's name.
	Name string
	// DefinedIn is the account holding the type's definition.
	DefinedIn cluster.ID
	// Lineage is the type's name followed by the names of the types it extends.
	Lineage []string
	// AllowedParents and AllowedChildren are the effective constraints; empty means any.
	AllowedParents, AllowedChildren []string
	// DefaultChildType is the effective default type of children.
	DefaultChildType string
	// Initializers and Terminators are inherited first, then the type's own.
	Initializers, Terminators []string
	// Labels are the labels for Accounts of the type.
	Labels map[string]string
	// DefaultResources are the objects created in new accounts of the type, inherited first.
	DefaultResources []DefaultResource
	// MaxObjects is the smallest limits.maxObjects of the type and the types it extends, nil for
	// none; MaxObjectsType names the type that sets it and MaxObjectsIn where it is defined.
	MaxObjects     *int32
	MaxObjectsType string
	MaxObjectsIn   cluster.ID
}

// DefaultResource is an object created in every new account of a type, as the user who
// declared it.
type DefaultResource struct {
	// Object is the object.
	Object runtime.RawExtension
	// DefinedBy is the corev1alpha1.DefinedByAnnotation of the AccountType declaring it, empty
	// when the server did not record one.
	DefinedBy string
	// Type is the name of the AccountType declaring it.
	Type string
}

// NotFoundError is returned when no account from the start up to root defines a type.
type NotFoundError struct {
	Name string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("account type %q is not defined in this account or any of its ancestors", e.Name)
}

// Find returns the nearest definition of name, looking in account from and then up to root.
func Find(ctx context.Context, src Source, from cluster.ID, name string) (*corev1alpha1.AccountType, cluster.ID, error) {
	for id := from; ; {
		t, err := src.Get(ctx, id, name)
		if err != nil {
			return nil, "", err
		}
		if t != nil {
			return t, id, nil
		}
		parent, ok, err := src.Parent(ctx, id)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", &NotFoundError{Name: name}
		}
		id = parent
	}
}

// Resolve finds type name from account from and merges in what it extends.
func Resolve(ctx context.Context, src Source, from cluster.ID, name string) (*Type, error) {
	var chain []corev1alpha1.AccountType
	var where []cluster.ID
	for n, at := name, from; n != ""; {
		if len(chain) == maxExtends {
			return nil, fmt.Errorf("account type %q extends more than %d types (is there a cycle?)", name, maxExtends)
		}
		t, id, err := Find(ctx, src, at, n)
		if err != nil {
			return nil, err
		}
		chain = append(chain, *t)
		where = append(where, id)
		n, at = t.Spec.Extends, id
	}
	out := &Type{Name: name, DefinedIn: where[0], Labels: map[string]string{}}
	// Walk from the most basic type to the most specific: later settings win.
	for i := len(chain) - 1; i >= 0; i-- {
		s := chain[i].Spec
		if len(s.AllowedParents) > 0 {
			out.AllowedParents = s.AllowedParents
		}
		if len(s.AllowedChildren) > 0 {
			out.AllowedChildren = s.AllowedChildren
		}
		if s.DefaultChildType != "" {
			out.DefaultChildType = s.DefaultChildType
		}
		out.Initializers = appendNew(out.Initializers, s.Initializers...)
		out.Terminators = appendNew(out.Terminators, s.Terminators...)
		maps.Copy(out.Labels, s.Labels)
		if l := s.Limits; l != nil && l.MaxObjects != nil && (out.MaxObjects == nil || *l.MaxObjects < *out.MaxObjects) {
			out.MaxObjects, out.MaxObjectsType, out.MaxObjectsIn = l.MaxObjects, chain[i].Name, where[i]
		}
		for _, r := range s.DefaultResources {
			out.DefaultResources = append(out.DefaultResources, DefaultResource{
				Object: r, DefinedBy: chain[i].Annotations[corev1alpha1.DefinedByAnnotation], Type: chain[i].Name,
			})
		}
	}
	for _, t := range chain {
		out.Lineage = append(out.Lineage, t.Name)
	}
	return out, nil
}

// Is reports whether the type counts as type name: it is name or extends it.
func (t *Type) Is(name string) bool {
	return slices.Contains(t.Lineage, name)
}

// Reserved returns the reserved type (corev1alpha1.ReservedTypes) the type counts as, and false
// if it counts as none.
func (t *Type) Reserved() (string, bool) {
	for _, r := range corev1alpha1.ReservedTypes {
		if t.Is(r) {
			return r, true
		}
	}
	return "", false
}

// isAny reports whether the type counts as one of names; an empty list matches any type.
func (t *Type) isAny(names []string) bool {
	if len(names) == 0 {
		return true
	}
	return slices.ContainsFunc(names, t.Is)
}

// CheckChild returns an error, naming what is allowed, unless a child of type child may be
// created in an account of type parent: both sides must agree.
func CheckChild(parent, child *Type) error {
	if !child.isAny(parent.AllowedChildren) {
		return fmt.Errorf("an account of type %q is not allowed in an account of type %q, which allows children of type %s",
			child.Name, parent.Name, quoteList(parent.AllowedChildren))
	}
	if !parent.isAny(child.AllowedParents) {
		return fmt.Errorf("an account of type %q is not allowed in an account of type %q: type %q allows parents of type %s",
			child.Name, parent.Name, child.Name, quoteList(child.AllowedParents))
	}
	return nil
}

// AccountInitializers returns the initializers of a new account of type t: the built-in ones
// first.
func (t *Type) AccountInitializers() []string {
	return appendNew(slices.Clone(corev1alpha1.BuiltinInitializers), t.Initializers...)
}

func appendNew(list []string, items ...string) []string {
	for _, i := range items {
		if !slices.Contains(list, i) {
			list = append(list, i)
		}
	}
	return list
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
