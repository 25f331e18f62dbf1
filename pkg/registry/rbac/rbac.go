package rbac

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the rbac.authorization.k8s.io/v1 resources, keyed by
// resource name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	return store.NewGroup(scheme, getter,
		roleOptions(),
		roleBindingOptions(),
		clusterRoleOptions(),
		clusterRoleBindingOptions(),
	)
}
