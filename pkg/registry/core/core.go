package core

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the core v1 resources, keyed by resource (and
// resource/subresource) name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	out := map[string]rest.Storage{}
	for _, o := range []store.Options{
		namespaceOptions(),
		configMapOptions(),
		secretOptions(),
		serviceAccountOptions(),
		eventOptions(),
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
