package accountmesh

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func accountTypeOptions() store.Options {
	return store.Options{
		Resource:       corev1alpha1.Resource("accounttypes"),
		Singular:       "accounttype",
		New:            func() runtime.Object { return &corev1alpha1.AccountType{} },
		NewList:        func() runtime.Object { return &corev1alpha1.AccountTypeList{} },
		NameValidation: apimachineryvalidation.NameIsDNSLabel,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateAccountType(obj.(*corev1alpha1.AccountType))
		},
		Columns: []store.Column{
			{Name: "Extends", Type: "string", Description: "The type this type builds on.", Value: func(obj runtime.Object) interface{} {
				return obj.(*corev1alpha1.AccountType).Spec.Extends
			}},
			{Name: "Default Child Type", Type: "string", Description: "Type of children that name none.", Value: func(obj runtime.Object) interface{} {
				return obj.(*corev1alpha1.AccountType).Spec.DefaultChildType
			}},
		},
	}
}

func validateAccountType(t *corev1alpha1.AccountType) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	checkName := func(p *field.Path, name string) {
		for _, msg := range apimachineryvalidation.NameIsDNSLabel(name, false) {
			errs = append(errs, field.Invalid(p, name, msg))
		}
	}
	if t.Spec.Extends != "" {
		checkName(spec.Child("extends"), t.Spec.Extends)
		if t.Spec.Extends == t.Name {
			errs = append(errs, field.Invalid(spec.Child("extends"), t.Spec.Extends, "a type cannot extend itself"))
		}
	}
	if t.Spec.DefaultChildType != "" {
		checkName(spec.Child("defaultChildType"), t.Spec.DefaultChildType)
	}
	for i, n := range t.Spec.AllowedParents {
		checkName(spec.Child("allowedParents").Index(i), n)
	}
	for i, n := range t.Spec.AllowedChildren {
		checkName(spec.Child("allowedChildren").Index(i), n)
	}
	for i, n := range t.Spec.Initializers {
		errs = append(errs, validateQualifiedName(spec.Child("initializers").Index(i), n)...)
	}
	for i, n := range t.Spec.Terminators {
		errs = append(errs, validateQualifiedName(spec.Child("terminators").Index(i), n)...)
	}
	for i, r := range t.Spec.DefaultResources {
		if len(r.Raw) == 0 && r.Object == nil {
			errs = append(errs, field.Required(spec.Child("defaultResources").Index(i), "an object is required"))
		}
	}
	return errs
}

// storageTypes reads AccountTypes from the in-process storage, walking the tree with the index.
type storageTypes struct {
	getter rest.Getter
	index  Lookup
	// consistent reads from etcd instead of the watch cache.
	consistent bool
}

var _ accounttype.Source = storageTypes{}

func (s storageTypes) Get(ctx context.Context, id cluster.ID, name string) (*corev1alpha1.AccountType, error) {
	opts := &metav1.GetOptions{ResourceVersion: "0"}
	if s.consistent {
		opts.ResourceVersion = ""
	}
	obj, err := s.getter.Get(cluster.WithCluster(ctx, id), name, opts)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read account type %q: %w", name, err)
	}
	return obj.(*corev1alpha1.AccountType), nil
}

func (s storageTypes) Parent(_ context.Context, id cluster.ID) (cluster.ID, bool, error) {
	e, ok := s.index.Lookup(id)
	if !ok {
		return "", false, fmt.Errorf("account %s is not known", id)
	}
	return e.Parent, e.Parent != "", nil
}

// resolve resolves a type from the watch cache, and from etcd when the cache does not know
// it, so that a type created a moment ago can be used at once.
func (s storageTypes) resolve(ctx context.Context, from cluster.ID, name string) (*accounttype.Type, error) {
	t, err := accounttype.Resolve(ctx, s, from, name)
	var nf *accounttype.NotFoundError
	if errors.As(err, &nf) {
		consistent := s
		consistent.consistent = true
		return accounttype.Resolve(ctx, consistent, from, name)
	}
	return t, err
}

func validateQualifiedName(p *field.Path, name string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}
