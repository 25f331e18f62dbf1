package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func clusterRoleBindingOptions() store.Options {
	return store.Options{
		Resource:       rbacv1.Resource("clusterrolebindings"),
		Singular:       "clusterrolebinding",
		New:            func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		NewList:        func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		NameValidation: validatePathSegmentName,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			defaultBinding(&b.RoleRef, b.Subjects)
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			defaultBinding(&b.RoleRef, b.Subjects)
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateClusterRoleBinding(obj.(*rbacv1.ClusterRoleBinding))
		},
		ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
			b, oldB := obj.(*rbacv1.ClusterRoleBinding), old.(*rbacv1.ClusterRoleBinding)
			return append(validateClusterRoleBinding(b), validateRoleRefUpdate(b.RoleRef, oldB.RoleRef)...)
		},
		Columns: bindingColumns(func(obj runtime.Object) (rbacv1.RoleRef, []rbacv1.Subject) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			return b.RoleRef, b.Subjects
		}),
	}
}

func validateClusterRoleBinding(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := validateRoleRef(b.RoleRef, []string{"ClusterRole"})
	return append(errs, validateSubjects(b.Subjects, false)...)
}
