package rbac

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// errorFields returns the field paths of errs, to compare with what a test case expects.
func errorFields(errs field.ErrorList) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Field)
	}
	return out
}

// newTestStorage builds the storage with a backend that is never called.
func newTestStorage(t *testing.T) map[string]rest.Storage {
	t.Helper()
	getter := generic.RESTOptions{
		StorageConfig:  &storagebackend.ConfigForResource{},
		ResourcePrefix: "/test",
		Decorator: func(*storagebackend.ConfigForResource, string, func(runtime.Object) (string, error),
			func() runtime.Object, func() runtime.Object, storage.AttrFunc, storage.IndexerFuncs, *cache.Indexers,
		) (storage.Interface, factory.DestroyFunc, error) {
			return nil, func() {}, nil
		},
	}
	storages, err := NewStorage(scheme.Scheme, getter)
	require.NoError(t, err)
	return storages
}

func TestNewStorage(t *testing.T) {
	t.Parallel()
	storages := newTestStorage(t)
	keys := make([]string, 0, len(storages))
	for k := range storages {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"}, keys)
}

func TestNameValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		objName string
		valid   bool
	}{
		{name: "colons", objName: "system:controller:foo", valid: true},
		{name: "slash", objName: "a/b"},
		{name: "dot dot", objName: ".."},
		{name: "percent", objName: "a%b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, o := range []store.Options{roleOptions(), roleBindingOptions(), clusterRoleOptions(), clusterRoleBindingOptions()} {
				require.Equal(t, tc.valid, len(o.NameValidation(tc.objName, false)) == 0, o.Resource.String())
			}
		})
	}
}
