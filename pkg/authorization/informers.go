package authorization

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Handlers returns the event handlers that keep the policy in step with wildcard informers of
// roles, clusterroles, rolebindings and clusterrolebindings, keyed by resource.
func (p *Policy) Handlers() map[string]cache.ResourceEventHandler {
	return map[string]cache.ResourceEventHandler{
		"roles": handler(func(obj interface{}, deleted bool) {
			r, ok := obj.(*rbacv1.Role)
			if id, ok2 := clusterOf(obj); ok && ok2 {
				p.SetRole(id, objectKey{r.Namespace, r.Name}, orNil(r, deleted))
			}
		}),
		"clusterroles": handler(func(obj interface{}, deleted bool) {
			r, ok := obj.(*rbacv1.ClusterRole)
			if id, ok2 := clusterOf(obj); ok && ok2 {
				p.SetClusterRole(id, r.Name, orNil(r, deleted))
			}
		}),
		"rolebindings": handler(func(obj interface{}, deleted bool) {
			b, ok := obj.(*rbacv1.RoleBinding)
			if id, ok2 := clusterOf(obj); ok && ok2 {
				var v *binding
				if !deleted {
					v = newBinding(b.Namespace, b.ObjectMeta, b.RoleRef, b.Subjects)
				}
				p.SetBinding(id, bindingKey{b.Namespace, b.Name}, v)
			}
		}),
		"clusterrolebindings": handler(func(obj interface{}, deleted bool) {
			b, ok := obj.(*rbacv1.ClusterRoleBinding)
			if id, ok2 := clusterOf(obj); ok && ok2 {
				var v *binding
				if !deleted {
					v = newBinding("", b.ObjectMeta, b.RoleRef, b.Subjects)
				}
				p.SetBinding(id, bindingKey{"", b.Name}, v)
			}
		}),
	}
}

func orNil[T any](v *T, deleted bool) *T {
	if deleted {
		return nil
	}
	return v
}

// handler adapts fn, which sets or (deleted) removes an object, to an event handler.
func handler(fn func(obj interface{}, deleted bool)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { fn(obj, false) },
		UpdateFunc: func(_, obj interface{}) { fn(obj, false) },
		DeleteFunc: func(obj interface{}) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			fn(obj, true)
		},
	}
}

// clusterOf returns the account of an object seen through the wildcard.
func clusterOf(obj interface{}) (cluster.ID, bool) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", false
	}
	id := m.GetAnnotations()[corev1alpha1.ClusterAnnotation]
	return cluster.ID(id), id != ""
}
