package coordination

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the coordination.k8s.io/v1 resources, keyed by resource
// name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	o := leaseOptions()
	storages, err := store.New(scheme, getter, o)
	if err != nil {
		return nil, fmt.Errorf("failed to create storage for %s: %w", o.Resource, err)
	}
	return storages, nil
}
