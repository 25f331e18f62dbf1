package dynamic

import (
	"context"
	"errors"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeSource gives accounts fixed API set keys.
type fakeSource map[cluster.ID]string

func (f fakeSource) APISet(id cluster.ID) (string, []*Entry) { return f[id], nil }

// forAccount asks cache for the value of account id's API set.
func forAccount[T any](t *testing.T, cache *APISetCache[T], src APISetSource, id cluster.ID, build func(context.Context, []*Entry) (T, error)) (T, bool, error) {
	t.Helper()
	req := httptest.NewRequest("GET", "/apis", nil)
	req = req.WithContext(cluster.WithCluster(req.Context(), id))
	return cache.ForRequest(req, src, build)
}

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
		v, ok, err := forAccount(t, &cache, src, id, build)
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

func TestAPISetCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	src := fakeSource{"a": "set1", "b": "set2", "c": "set3"}
	built := map[string]int{}
	build := func(_ context.Context, _ []*Entry) (string, error) { return "", nil }
	cache := APISetCache[string]{Max: 2}
	get := func(id cluster.ID) {
		_, _, err := forAccount(t, &cache, src, id, func(ctx context.Context, e []*Entry) (string, error) {
			built[string(id)]++
			return build(ctx, e)
		})
		require.NoError(t, err)
	}
	get("a")
	get("b")
	get("a") // set1 is now more recent than set2
	get("c") // evicts set2
	get("a")
	require.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, built)
	get("b")
	require.Equal(t, 2, built["b"], "the least recently used set was evicted")
}

func TestAPISetCacheSharesOneBuild(t *testing.T) {
	t.Parallel()
	src := fakeSource{"a": "set1"}
	var builds atomic.Int32
	release := make(chan struct{})
	build := func(context.Context, []*Entry) (int, error) {
		builds.Add(1)
		<-release
		return 42, nil
	}
	var cache APISetCache[int]
	var wg, started sync.WaitGroup
	for range 8 {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			v, ok, err := forAccount(t, &cache, src, "a", build)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, 42, v)
		}()
	}
	started.Wait()
	require.Eventually(t, func() bool { return builds.Load() > 0 }, wait.ForeverTestTimeout, time.Millisecond)
	for range 100 {
		runtime.Gosched() // let the other requests reach the cache while the build runs
	}
	close(release)
	wg.Wait()
	require.Equal(t, int32(1), builds.Load(), "concurrent first requests wait for one build")
}

func TestAPISetCacheForgetsFailedBuilds(t *testing.T) {
	t.Parallel()
	src := fakeSource{"a": "set1"}
	var cache APISetCache[int]
	_, ok, err := forAccount(t, &cache, src, "a", func(context.Context, []*Entry) (int, error) { return 0, errors.New("boom") })
	require.Error(t, err)
	require.False(t, ok)
	v, ok, err := forAccount(t, &cache, src, "a", func(context.Context, []*Entry) (int, error) { return 7, nil })
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 7, v, "a failed build is retried")
}
