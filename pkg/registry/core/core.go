package core

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the core v1 resources, keyed by resource (and
// resource/subresource) name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	storages, err := store.NewGroup(scheme, getter,
		namespaceOptions(),
		configMapOptions(),
		secretOptions(),
		serviceAccountOptions(),
		eventOptions(),
		resourceQuotaOptions(),
	)
	if err != nil {
		return nil, err
	}
	storages["namespaces"] = newNamespaceREST(storages["namespaces"].(*store.REST))
	return storages, nil
}
