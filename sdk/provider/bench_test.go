package provider

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
)

// benchAccounts is the number of consumer accounts in the benchmarks.
const benchAccounts = 1000

// BenchmarkDispatch delivers events of one account to the handlers of benchAccounts accounts,
// one each: the dispatcher calls one handler per event.
func BenchmarkDispatch(b *testing.B) {
	d := newDispatcher(func(multicluster.ClusterName) []any { return nil }, newDoneChecker("bench"))
	delivered := 0
	for i := range benchAccounts {
		d.add(multicluster.ClusterName(fmt.Sprintf("c%d", i)), toolscache.ResourceEventHandlerFuncs{UpdateFunc: func(_, _ any) { delivered++ }})
	}
	obj := configMap("c42", "default", "x")
	b.ReportAllocs()
	for b.Loop() {
		d.OnUpdate(obj, obj)
	}
	require.Equal(b, b.N, delivered)
}

// BenchmarkDispatchByFilter is the alternative the dispatcher replaces: every account's handler
// registered on the shared informer behind a filter on the account, so each event runs
// benchAccounts filters.
func BenchmarkDispatchByFilter(b *testing.B) {
	var handlers []toolscache.ResourceEventHandler
	delivered := 0
	for i := range benchAccounts {
		c := multicluster.ClusterName(fmt.Sprintf("c%d", i))
		handlers = append(handlers, toolscache.FilteringResourceEventHandler{
			FilterFunc: func(obj any) bool { return clusterOf(obj) == c },
			Handler:    toolscache.ResourceEventHandlerFuncs{UpdateFunc: func(_, _ any) { delivered++ }},
		})
	}
	obj := configMap("c42", "default", "x")
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range handlers {
			h.OnUpdate(obj, obj)
		}
	}
	require.Equal(b, b.N, delivered)
}

// BenchmarkScopedCache reads one account's objects from a shared informer holding 10 config
// maps in each of benchAccounts accounts.
func BenchmarkScopedCache(b *testing.B) {
	var objs []*corev1.ConfigMap
	for i := range benchAccounts {
		for j := range 10 {
			objs = append(objs, configMap(fmt.Sprintf("c%d", i), "default", fmt.Sprintf("cm%d", j)))
		}
	}
	src, _ := startFakeInformer(b, objs...)
	c := &scopedCache{src: src, cluster: "c42"}
	b.Run("get", func(b *testing.B) {
		var cm corev1.ConfigMap
		b.ReportAllocs()
		for b.Loop() {
			require.NoError(b, c.Get(b.Context(), client.ObjectKey{Namespace: "default", Name: "cm3"}, &cm))
		}
	})
	b.Run("list", func(b *testing.B) {
		var list corev1.ConfigMapList
		b.ReportAllocs()
		for b.Loop() {
			require.NoError(b, c.List(b.Context(), &list, client.InNamespace("default")))
		}
		require.Len(b, list.Items, 10)
	})
}
