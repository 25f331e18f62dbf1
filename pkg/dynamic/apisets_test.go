package dynamic

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeSource gives accounts fixed API set keys.
type fakeSource map[cluster.ID]string

func (f fakeSource) APISet(id cluster.ID) string { return f[id] }
func (f fakeSource) Entries(cluster.ID) []*Entry { return nil }

func TestAPISetCache(t *testing.T) {
	t.Parallel()
	src := fakeSource{"a": "set1", "b": "set1", "c": "set2"}
	builds := 0
	build := func(context.Context, []*Entry) (*int, error) {
		builds++
		n := builds
		return &n, nil
	}
	var cache APISetCache[*int]
	get := func(id cluster.ID) (*int, bool) {
		req := httptest.NewRequest("GET", "/apis", nil)
		req = req.WithContext(cluster.WithCluster(req.Context(), id))
		v, ok, err := cache.ForRequest(req, src, build)
		require.NoError(t, err)
		return v, ok
	}
	a, ok := get("a")
	require.True(t, ok)
	b, _ := get("b")
	require.Same(t, a, b, "accounts with the same API set share one value")
	c, _ := get("c")
	require.NotSame(t, a, c)
	require.Equal(t, 2, builds)
	_, ok = get("none")
	require.False(t, ok, "an account without custom resources gets the built-in documents")
	_, _, err := cache.ForRequest(httptest.NewRequest("GET", "/apis", nil), src, build)
	require.NoError(t, err, "a request outside any account is not an error")
}
