package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func clusterRoleBindingOptions() store.Options {
	return bindingOptions(binding{
		resource: "clusterrolebindings", singular: "clusterrolebinding",
		newObj:    func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		newList:   func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		roleKinds: []string{"ClusterRole"},
		parts: func(obj runtime.Object) (*rbacv1.RoleRef, []rbacv1.Subject) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			return &b.RoleRef, b.Subjects
		},
	})
}
