package rbac

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the rbac.authorization.k8s.io/v1 resources, keyed by
// resource name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	out := map[string]rest.Storage{}
	for _, o := range []store.Options{
		roleOptions(),
		roleBindingOptions(),
		clusterRoleOptions(),
		clusterRoleBindingOptions(),
	} {
		storages, err := store.New(scheme, getter, o)
		if err != nil {
			return nil, fmt.Errorf("failed to create storage for %s: %w", o.Resource, err)
		}
		for k, v := range storages {
			out[k] = v
		}
	}
	return out, nil
}
