package rbac

import (
	"testing"

	"github.com/stretchr/testify/require"
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
