package core

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	require.ElementsMatch(t, []string{
		"namespaces", "namespaces/status", "configmaps", "secrets", "serviceaccounts", "events",
	}, keys)
	require.Equal(t, []string{"ns"}, storages["namespaces"].(*store.REST).ShortNames())
	require.Equal(t, []string{"sa"}, storages["serviceaccounts"].(*store.REST).ShortNames())
	require.Equal(t, []string{"ev"}, storages["events"].(*store.REST).ShortNames())
	require.False(t, storages["events"].(*store.REST).UpdateStrategy.AllowCreateOnUpdate(t.Context()))
}

func TestColumns(t *testing.T) {
	t.Parallel()
	storages := newTestStorage(t)
	table, err := storages["secrets"].(*store.REST).ConvertToTable(t.Context(), newSecret(tlsType, map[string][]byte{
		"tls.crt": nil, "tls.key": nil,
	}), nil)
	require.NoError(t, err)
	require.Len(t, table.Rows, 1)
	require.Equal(t, []interface{}{"s", tlsType, int64(2), "<unknown>"}, table.Rows[0].Cells)
}

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}
