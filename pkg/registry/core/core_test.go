package core

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// newTestStorage builds the storage with a backend that is never called.
func newTestStorage(t *testing.T) map[string]rest.Storage {
	t.Helper()
	getter := storetest.Getter()
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
		"namespaces", "namespaces/status", "namespaces/finalize", "configmaps", "secrets", "serviceaccounts", "events",
		"resourcequotas", "resourcequotas/status",
	}, keys)
	require.Equal(t, []string{"ns"}, storages["namespaces"].(rest.ShortNamesProvider).ShortNames())
	// Namespaces are deleted one by one, each through its termination.
	require.NotImplements(t, (*rest.CollectionDeleter)(nil), storages["namespaces"])
	require.Implements(t, (*rest.GracefulDeleter)(nil), storages["namespaces"])
	require.NotImplements(t, (*rest.Getter)(nil), storages["namespaces/finalize"])
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
