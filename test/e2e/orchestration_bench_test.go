package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

var contextsGVR = schema.GroupVersionResource{Group: "orchestration.accountmesh.io", Version: "v1alpha1", Resource: "orchestrationcontexts"}

// benchScale reads a benchmark's scale from the environment variable name, or def.
func benchScale(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(tb, err, "%s", name)
	return n
}

// unthrottled returns a copy of cfg without client-go's rate limit.
func unthrottled(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// rssKiB reads the resident set size of a process.
func rssKiB(tb testing.TB, pid int) int {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(tb, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			require.NoError(tb, err)
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// BenchmarkOrchestrationPropagation measures how long a member's change takes to show in its
// context's status, with ORCH_CONTEXTS (default 1000) contexts of 10 ConfigMap members each,
// spread over as many accounts: context i lives in account i and its member j in account
// (i+j) mod N. Each sample makes one member of a random context not ready and waits, through
// a wildcard watch of the contexts, for the status to say 9/10, then ready again and 10/10;
// it reports p50 and p99 of those delays and the server's RSS growth per context. The first
// change, which waits for the controller to settle after the contexts were created, is
// reported apart.
//
//	ORCH_CONTEXTS=1000 go test ./test/e2e -run '^$' -bench OrchestrationPropagation -benchtime 200x -timeout 60m
func BenchmarkOrchestrationPropagation(b *testing.B) {
	const members = 10
	n := benchScale(b, "ORCH_CONTEXTS", 1000)
	ctx := b.Context()
	parent := server.NewAccount(b, "root")
	parentDyn, err := dynamic.NewForConfig(unthrottled(server.ConfigFor(parent.Path)))
	require.NoError(b, err)

	// N accounts below parent.
	start := time.Now()
	require.NoError(b, parallel(n, 16, func(i int) error { return createAccountObject(b, parentDyn, fmt.Sprintf("a%d", i), "", "") }))
	paths, ids := make([]string, n), map[string]int{}
	framework.Eventually(b, 10*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := parentDyn.Resource(framework.AccountsGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, a := range list.Items {
			phase, _, _ := unstructured.NestedString(a.Object, "status", "phase")
			path, _, _ := unstructured.NestedString(a.Object, "status", "path")
			id, _, _ := unstructured.NestedString(a.Object, "status", "clusterID")
			if i, err := strconv.Atoi(strings.TrimPrefix(a.GetName(), "a")); err == nil && phase == "Ready" {
				paths[i], ids[id] = path, i
				ready++
			}
		}
		return ready == n, nil
	}, "the accounts did not become Ready")
	b.Logf("%d accounts Ready in %s", n, time.Since(start).Round(time.Millisecond))

	// Dynamic clients per account share one transport.
	admin := unthrottled(server.ConfigFor(string(cluster.Wildcard)))
	httpClient, err := rest.HTTPClientFor(admin)
	require.NoError(b, err)
	clientFor := func(path string) dynamic.Interface {
		cfg := rest.CopyConfig(admin)
		cfg.Host = strings.TrimSuffix(server.URL(path), "/")
		d, err := dynamic.NewForConfigAndClient(cfg, httpClient)
		require.NoError(b, err)
		return d
	}
	clients := make([]dynamic.Interface, n)
	for i, p := range paths {
		clients[i] = clientFor(p)
	}
	configMaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	start = time.Now()
	require.NoError(b, parallel(n*members, 16, func(k int) error {
		i, j := k/members, k%members
		cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("m-%d-%d", i, j), "namespace": "default"}, "data": map[string]any{"ready": "true"}}}
		// The default namespace of a new account may still be on its way.
		return retryOnMissing(ctx, func() error {
			_, err := clients[(i+j)%n].Resource(configMaps).Namespace(corev1.NamespaceDefault).Create(ctx, cm, metav1.CreateOptions{})
			return err
		})
	}))
	b.Logf("%d ConfigMaps created in %s", n*members, time.Since(start).Round(time.Millisecond))

	pid := server.PID()
	before := rssKiB(b, pid)
	start = time.Now()
	require.NoError(b, parallel(n, 16, func(i int) error {
		var ms []any
		for j := range members {
			ms = append(ms, map[string]any{"name": fmt.Sprintf("m%d", j), "readiness": "self.data.ready == 'true'",
				"ref": map[string]any{"account": paths[(i+j)%n], "apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": fmt.Sprintf("m-%d-%d", i, j)}})
		}
		oc := &unstructured.Unstructured{Object: map[string]any{"apiVersion": contextsGVR.GroupVersion().String(), "kind": "OrchestrationContext",
			"metadata": map[string]any{"name": "bench", "namespace": "default"}, "spec": map[string]any{"members": ms}}}
		return retryOnMissing(ctx, func() error {
			_, err := clients[i].Resource(contextsGVR).Namespace(corev1.NamespaceDefault).Create(ctx, oc, metav1.CreateOptions{})
			return err
		})
	}))
	created := time.Since(start)

	// Watch every context through the wildcard: readyOf[i] is what context i reports.
	wild, err := dynamic.NewForConfigAndClient(admin, httpClient)
	require.NoError(b, err)
	var mu sync.Mutex
	readyOf := make([]int64, n)
	updates := make(chan struct{}, 1)
	list, err := wild.Resource(contextsGVR).List(ctx, metav1.ListOptions{})
	require.NoError(b, err)
	w, err := wild.Resource(contextsGVR).Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	require.NoError(b, err)
	defer w.Stop()
	record := func(obj *unstructured.Unstructured) {
		i, ok := ids[obj.GetAnnotations()["accountmesh.io/cluster"]]
		if !ok || obj.GetName() != "bench" {
			return
		}
		readyMembers, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyMembers")
		mu.Lock()
		readyOf[i] = readyMembers
		mu.Unlock()
		select {
		case updates <- struct{}{}:
		default:
		}
	}
	for i := range list.Items {
		record(&list.Items[i])
	}
	go func() {
		for e := range w.ResultChan() {
			if obj, ok := e.Object.(*unstructured.Unstructured); ok && e.Type != watch.Error {
				record(obj)
			}
		}
	}()
	// waitFor waits until cond holds of readyOf.
	waitFor := func(what string, cond func() bool) {
		deadline := time.After(10 * time.Minute)
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-updates:
			case <-time.After(time.Second):
			case <-deadline:
				b.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("every context to be ready", func() bool {
		for _, r := range readyOf {
			if r != members {
				return false
			}
		}
		return true
	})
	after := rssKiB(b, pid)
	b.Logf("%d contexts created in %s, all ready after %s; server RSS %d -> %d MiB", n, created.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), before/1024, after/1024)

	// Samples: one member of context i not ready, then ready again.
	var delays []time.Duration
	slowest, slowestAt := time.Duration(0), ""
	flip := func(i, j int, ready string, want int64) {
		patch := []byte(`{"data":{"ready":"` + ready + `"}}`)
		t0 := time.Now()
		_, err := clients[(i+j)%n].Resource(configMaps).Namespace(corev1.NamespaceDefault).Patch(ctx, fmt.Sprintf("m-%d-%d", i, j), types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(b, err)
		waitFor(fmt.Sprintf("context %d to report %d ready", i, want), func() bool { return readyOf[i] == want })
		d := time.Since(t0)
		if d > slowest {
			slowest, slowestAt = d, fmt.Sprintf("sample %d (context %d, member %d, ready %s)", len(delays), i, j, ready)
		}
		delays = append(delays, d)
	}
	// The first change waits behind what the controller still has queued from creating the
	// contexts (its own status writes come back as events): measured apart, as settling.
	settle := time.Now()
	flip(0, 0, "false", members-1)
	flip(0, 0, "true", members)
	b.Logf("settled: the first change (and back) took %s", time.Since(settle).Round(time.Millisecond))
	delays, slowest, slowestAt = nil, 0, ""
	k := 1
	for b.Loop() {
		i, j := (k*7919)%n, k%members
		k++
		flip(i, j, "false", members-1)
		flip(i, j, "true", members)
	}
	slices.Sort(delays)
	pct := func(p float64) time.Duration { return delays[min(len(delays)-1, int(p*float64(len(delays))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(after-before)/float64(n), "KiB/context")
	b.Logf("propagation over %d changes: p50 %s, p99 %s, max %s at %s", len(delays), pct(0.50), pct(0.99), slowest, slowestAt)
}

// retryOnMissing calls f until it succeeds, for a minute, while it fails with NotFound (a namespace or
// resource on its way) or a conflict.
func retryOnMissing(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		passing := apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsForbidden(err)
		if !passing || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
