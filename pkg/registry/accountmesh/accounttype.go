package accountmesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	authenticationv1 "k8s.io/api/authentication/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func accountTypeOptions(index Lookup) store.Options {
	return store.Options{
		Resource:       corev1alpha1.Resource("accounttypes"),
		Singular:       "accounttype",
		New:            func() runtime.Object { return &corev1alpha1.AccountType{} },
		NewList:        func() runtime.Object { return &corev1alpha1.AccountTypeList{} },
		NameValidation: apimachineryvalidation.NameIsDNSLabel,
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			t := obj.(*corev1alpha1.AccountType)
			return append(validateAccountType(t), validateReserved(ctx, index, t)...)
		},
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			recordDefinedBy(ctx, obj.(*corev1alpha1.AccountType), nil)
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			recordDefinedBy(ctx, obj.(*corev1alpha1.AccountType), old.(*corev1alpha1.AccountType))
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

// recordDefinedBy sets the DefinedByAnnotation of t: the requesting user when t's default
// resources are new or changed, the old value when they are unchanged, none without them.
// Whatever the request says of the annotation is ignored.
func recordDefinedBy(ctx context.Context, t, old *corev1alpha1.AccountType) {
	delete(t.Annotations, corev1alpha1.DefinedByAnnotation)
	switch {
	case len(t.Spec.DefaultResources) == 0:
		return
	case old != nil && apiequality.Semantic.DeepEqual(t.Spec.DefaultResources, old.Spec.DefaultResources):
		if v, ok := old.Annotations[corev1alpha1.DefinedByAnnotation]; ok {
			metav1.SetMetaDataAnnotation(&t.ObjectMeta, corev1alpha1.DefinedByAnnotation, v)
		}
		return
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return
	}
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if len(u.GetExtra()) > 0 {
		info.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.GetExtra() {
			info.Extra[k] = v
		}
	}
	b, err := json.Marshal(info)
	if err != nil {
		return
	}
	metav1.SetMetaDataAnnotation(&t.ObjectMeta, corev1alpha1.DefinedByAnnotation, string(b))
}

// validateReserved refuses, outside root, a type named like a reserved type or extending one:
// nearer than root's, it would take the reserved name's place for the subtree, or make the
// reserved type usable under another name.
func validateReserved(ctx context.Context, index Lookup, t *corev1alpha1.AccountType) field.ErrorList {
	id, _ := cluster.FromContext(ctx)
	if e, ok := index.Lookup(id); ok && e.Parent == "" {
		return nil
	}
	var errs field.ErrorList
	if slices.Contains(corev1alpha1.ReservedTypes, t.Name) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), t.Name, "the name of a type reserved to the platform"))
	}
	if slices.Contains(corev1alpha1.ReservedTypes, t.Spec.Extends) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "extends"), fmt.Sprintf("account type %q is reserved to the platform", t.Spec.Extends)))
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
