package provider

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

func configMap(c, ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name,
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: c},
	}}
}

// eventLog is an event handler that records "<verb> <cluster>/<name>".
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (r *eventLog) record(verb string, obj any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := ""
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		name = o.Name
	case toolscache.DeletedFinalStateUnknown:
		name = o.Key
	}
	r.events = append(r.events, verb+" "+string(clusterOf(obj))+"/"+name)
}

func (r *eventLog) OnAdd(obj any, _ bool) { r.record("add", obj) }
func (r *eventLog) OnUpdate(_, obj any)   { r.record("update", obj) }
func (r *eventLog) OnDelete(obj any)      { r.record("delete", obj) }
func (r *eventLog) got() []string         { r.mu.Lock(); defer r.mu.Unlock(); return r.events }
func (r *eventLog) reset()                { r.mu.Lock(); defer r.mu.Unlock(); r.events = nil }
func newEventLogs(n int) (out []*eventLog) {
	for range n {
		out = append(out, &eventLog{})
	}
	return out
}

// TestDispatcherRoutesByAccount registers handlers for accounts a and b and for all accounts,
// and checks that every event reaches exactly the handlers of its account and the all-accounts
// ones, that registration replays the account's stored objects, and that removal stops events.
func TestDispatcherRoutesByAccount(t *testing.T) {
	t.Parallel()
	stored := map[multicluster.ClusterName][]any{
		"a": {configMap("a", "default", "x")},
		"b": {configMap("b", "default", "x"), configMap("b", "default", "y")},
	}
	synced := newDoneChecker("test")
	d := newDispatcher(func(c multicluster.ClusterName) []any {
		if c == allClusters {
			return append(append([]any{}, stored["a"]...), stored["b"]...)
		}
		return stored[c]
	}, synced)

	rs := newEventLogs(4)
	regA := d.add("a", rs[0])
	d.add("b", rs[1])
	d.add(allClusters, rs[2])
	regA2 := d.add("a", rs[3])
	require.Equal(t, []string{"add a/x"}, rs[0].got())
	require.Equal(t, []string{"add b/x", "add b/y"}, rs[1].got())
	require.Equal(t, []string{"add a/x", "add b/x", "add b/y"}, rs[2].got())
	require.False(t, regA.HasSynced())
	synced.done()
	require.True(t, regA.HasSynced())
	for _, r := range rs {
		r.reset()
	}

	tests := []struct {
		name string
		fire func()
		want [4][]string
	}{
		{"add in a", func() { d.OnAdd(configMap("a", "ns", "z"), false) },
			[4][]string{{"add a/z"}, nil, {"add a/z"}, {"add a/z"}}},
		{"update in b", func() { d.OnUpdate(configMap("b", "default", "x"), configMap("b", "default", "x")) },
			[4][]string{nil, {"update b/x"}, {"update b/x"}, nil}},
		{"delete in unknown account c", func() { d.OnDelete(configMap("c", "default", "x")) },
			[4][]string{nil, nil, {"delete c/x"}, nil}},
		{"tombstone in a", func() { d.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "a|default/x"}) },
			[4][]string{{"delete a/a|default/x"}, nil, {"delete a/a|default/x"}, {"delete a/a|default/x"}}},
		{"object without account", func() { d.OnAdd(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "n"}}, false) },
			[4][]string{nil, nil, {"add /n"}, nil}},
	}
	for _, tt := range tests {
		tt.fire()
		for i, r := range rs {
			require.Equal(t, tt.want[i], r.got(), "%s: handler %d", tt.name, i)
			r.reset()
		}
	}

	d.remove(regA)
	d.remove(regA) // twice is harmless
	d.OnAdd(configMap("a", "default", "w"), false)
	require.Empty(t, rs[0].got())
	require.Equal(t, []string{"add a/w"}, rs[3].got())
	require.Equal(t, 3, d.len())

	d.removeCluster("a")
	d.OnAdd(configMap("a", "default", "v"), false)
	require.Equal(t, []string{"add a/w"}, rs[3].got())
	require.Equal(t, 2, d.len())
	d.remove(regA2) // after removeCluster: harmless
	require.Equal(t, 2, d.len())
}

// TestDispatcherCostIsPerAccount registers one handler in each of many accounts and checks
// that an event calls one handler, not one filter per account.
func TestDispatcherCostIsPerAccount(t *testing.T) {
	t.Parallel()
	d := newDispatcher(func(multicluster.ClusterName) []any { return nil }, newDoneChecker("test"))
	calls := 0
	for i := range 1000 {
		c := multicluster.ClusterName(fmt.Sprintf("c%d", i))
		d.add(c, toolscache.ResourceEventHandlerFuncs{AddFunc: func(any) { calls++ }})
	}
	d.OnAdd(configMap("c42", "default", "x"), false)
	require.Equal(t, 1, calls)
}
