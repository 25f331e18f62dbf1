package rbac

import (
	"context"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func roleBindingOptions() store.Options {
	return bindingOptions(binding{
		resource: "rolebindings", singular: "rolebinding", namespaced: true,
		newObj:    func() runtime.Object { return &rbacv1.RoleBinding{} },
		newList:   func() runtime.Object { return &rbacv1.RoleBindingList{} },
		roleKinds: []string{"Role", "ClusterRole"},
		parts: func(obj runtime.Object) (*rbacv1.RoleRef, []rbacv1.Subject) {
			b := obj.(*rbacv1.RoleBinding)
			return &b.RoleRef, b.Subjects
		},
	})
}

// binding describes one of the two binding kinds, which differ only in scope and in the kinds
// of roles they may refer to.
type binding struct {
	resource, singular string
	namespaced         bool
	newObj, newList    func() runtime.Object
	roleKinds          []string
	// parts returns the role reference and subjects of an object of the kind.
	parts func(obj runtime.Object) (*rbacv1.RoleRef, []rbacv1.Subject)
}

func bindingOptions(b binding) store.Options {
	validate := func(obj runtime.Object) field.ErrorList {
		ref, subjects := b.parts(obj)
		return append(validateRoleRef(*ref, b.roleKinds), validateSubjects(subjects, b.namespaced)...)
	}
	prepare := func(obj runtime.Object) {
		ref, subjects := b.parts(obj)
		defaultBinding(ref, subjects)
	}
	return store.Options{
		Resource:         rbacv1.Resource(b.resource),
		Singular:         b.singular,
		New:              b.newObj,
		NewList:          b.newList,
		Namespaced:       b.namespaced,
		NameValidation:   validatePathSegmentName,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) { prepare(obj) },
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) { prepare(obj) },
		Validate:         func(_ context.Context, obj runtime.Object) field.ErrorList { return validate(obj) },
		ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
			ref, _ := b.parts(obj)
			oldRef, _ := b.parts(old)
			return append(validate(obj), validateRoleRefUpdate(*ref, *oldRef)...)
		},
		Columns: bindingColumns(func(obj runtime.Object) (rbacv1.RoleRef, []rbacv1.Subject) {
			ref, subjects := b.parts(obj)
			return *ref, subjects
		}),
	}
}

// defaultBinding applies the defaults a real cluster gives bindings on decode: the rbac API
// group for the role reference and for User and Group subjects.
func defaultBinding(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		if subjects[i].APIGroup == "" && (subjects[i].Kind == rbacv1.UserKind || subjects[i].Kind == rbacv1.GroupKind) {
			subjects[i].APIGroup = rbacv1.GroupName
		}
	}
}

// validateRoleRef validates the role a binding refers to; kinds are the role kinds allowed.
func validateRoleRef(ref rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(p.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	if !slices.Contains(kinds, ref.Kind) {
		errs = append(errs, field.NotSupported(p.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	for _, msg := range validatePathSegmentName(ref.Name, false) {
		errs = append(errs, field.Invalid(p.Child("name"), ref.Name, msg))
	}
	return errs
}

// validateRoleRefUpdate keeps the role reference of a binding immutable.
func validateRoleRefUpdate(ref, old rbacv1.RoleRef) field.ErrorList {
	if ref != old {
		return field.ErrorList{field.Invalid(field.NewPath("roleRef"), ref, "cannot change roleRef")}
	}
	return nil
}

// validateSubjects validates the subjects of a binding. Service account subjects of cluster
// role bindings need a namespace; those of role bindings default to the binding's.
func validateSubjects(subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, s := range subjects {
		p := field.NewPath("subjects").Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.Name != "" {
				for _, msg := range apimachineryvalidation.ValidateServiceAccountName(s.Name, false) {
					errs = append(errs, field.Invalid(p.Child("name"), s.Name, msg))
				}
			}
			if s.APIGroup != "" {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if !namespaced && s.Namespace == "" {
				errs = append(errs, field.Required(p.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind,
				[]string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
		}
	}
	return errs
}

// bindingColumns are the table columns of role and cluster role bindings: the role, and with
// -o wide the users, groups and service accounts bound.
func bindingColumns(get func(runtime.Object) (rbacv1.RoleRef, []rbacv1.Subject)) []store.Column {
	subjects := func(kind string) func(runtime.Object) interface{} {
		return func(obj runtime.Object) interface{} {
			_, all := get(obj)
			var names []string
			for _, s := range all {
				switch {
				case s.Kind != kind:
				case s.Kind == rbacv1.ServiceAccountKind && s.Namespace != "":
					names = append(names, s.Namespace+"/"+s.Name)
				default:
					names = append(names, s.Name)
				}
			}
			return strings.Join(names, ", ")
		}
	}
	return []store.Column{{
		Name: "Role", Type: "string", Description: "Kind and name of the role bound.",
		Value: func(obj runtime.Object) interface{} {
			ref, _ := get(obj)
			return ref.Kind + "/" + ref.Name
		},
	}, {
		Name: "Users", Type: "string", Description: "Users bound.", Priority: 1,
		Value: subjects(rbacv1.UserKind),
	}, {
		Name: "Groups", Type: "string", Description: "Groups bound.", Priority: 1,
		Value: subjects(rbacv1.GroupKind),
	}, {
		Name: "ServiceAccounts", Type: "string", Description: "Service accounts bound, as namespace/name.", Priority: 1,
		Value: subjects(rbacv1.ServiceAccountKind),
	}}
}
