package client

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

func namespace(clusterID, name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, ResourceVersion: "1", Annotations: map[string]string{"accountmesh.io/cluster": clusterID},
	}}
}

func TestClusterKeys(t *testing.T) {
	t.Parallel()
	key, err := ClusterKey(namespace("a", "default"))
	require.NoError(t, err)
	require.Equal(t, "a|default", key)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "x", Annotations: map[string]string{"accountmesh.io/cluster": "b"}}}
	key, err = ClusterKey(cm)
	require.NoError(t, err)
	require.Equal(t, ToClusterKey("b", "ns", "x"), key)
	id, ns, name, err := SplitClusterKey(key)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "ns", "x"}, []string{string(id), ns, name})

	_, err = ClusterKey(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "no-annotation"}})
	require.Error(t, err)
	_, _, _, err = SplitClusterKey("no-separator")
	require.Error(t, err)
	key, err = ClusterKey(cache.DeletedFinalStateUnknown{Key: "c|gone"})
	require.NoError(t, err)
	require.Equal(t, "c|gone", key)
}

// TestInformerKeepsAccountsApart feeds an informer same-named objects of two accounts and checks
// that the store and the handlers see them as different objects, also on updates and deletes.
func TestInformerKeepsAccountsApart(t *testing.T) {
	t.Parallel()
	w := watch.NewFake()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &corev1.NamespaceList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Namespace{
				*namespace("a", "default"), *namespace("b", "default"),
			}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return w, nil },
	}
	events := make(chan string, 10)
	inf := NewSharedInformer(plainListWatch{lw}, &corev1.Namespace{})
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { events <- "add " + mustKey(t, obj) },
		UpdateFunc: func(_, obj interface{}) { events <- "update " + mustKey(t, obj) },
		DeleteFunc: func(obj interface{}) { events <- "delete " + mustKey(t, obj) },
	})
	go inf.Run(t.Context())
	require.True(t, cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced))
	require.ElementsMatch(t, []string{"add a|default", "add b|default"}, []string{next(t, events), next(t, events)})

	updated := namespace("b", "default")
	updated.ResourceVersion = "2"
	w.Modify(updated)
	require.Equal(t, "update b|default", next(t, events))
	w.Delete(namespace("a", "default"))
	require.Equal(t, "delete a|default", next(t, events))

	require.Equal(t, []string{"b|default"}, inf.Store().ListKeys())
	obj, exists, err := inf.Store().GetByKey("b|default")
	require.NoError(t, err)
	require.True(t, exists)
	require.Equal(t, "2", obj.(*corev1.Namespace).ResourceVersion)
}

// plainListWatch is a list-watch that does not speak the streaming watch-list protocol, as a
// fake watch cannot.
type plainListWatch struct{ *cache.ListWatch }

func (plainListWatch) IsWatchListSemanticsUnSupported() bool { return true }

func mustKey(t *testing.T, obj interface{}) string {
	t.Helper()
	key, err := ClusterKey(obj)
	require.NoError(t, err)
	return key
}

func next(t *testing.T, events <-chan string) string {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return ""
	}
}

// startedInformer runs a shared informer over two namespaces and a fake watch until the test
// ends.
func startedInformer(t *testing.T) (*SharedInformer, *watch.FakeWatcher) {
	t.Helper()
	w := watch.NewFake()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &corev1.NamespaceList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Namespace{
				*namespace("a", "default"), *namespace("b", "default"),
			}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return w, nil },
	}
	return NewSharedInformer(plainListWatch{lw}, &corev1.Namespace{}), w
}

// TestInformerLateHandlerGetsExistingObjects registers handlers after the cache is full: they
// get the objects already there, and the informer counts as synced only once they have.
func TestInformerLateHandlerGetsExistingObjects(t *testing.T) {
	t.Parallel()
	inf, w := startedInformer(t)
	go inf.Run(t.Context())
	require.True(t, cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced))

	release := make(chan struct{})
	events := make(chan string, 10)
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj interface{}) {
		<-release
		events <- "add " + mustKey(t, obj)
	}})
	require.False(t, inf.HasSynced(), "not synced while a handler has not handled the objects it was given")
	close(release)
	require.ElementsMatch(t, []string{"add a|default", "add b|default"}, []string{next(t, events), next(t, events)})
	require.Eventually(t, inf.HasSynced, 10*time.Second, 10*time.Millisecond)

	inline := make(chan string, 10)
	inf.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj interface{}) { inline <- "add " + mustKey(t, obj) }})
	require.ElementsMatch(t, []string{"add a|default", "add b|default"}, []string{next(t, inline), next(t, inline)})
	w.Add(namespace("c", "default"))
	require.Equal(t, "add c|default", next(t, inline))
}

// TestInformerSlowHandlerStallsOnlyItself blocks one handler: another still gets every event,
// and inline handlers see each event before queued handlers do.
func TestInformerSlowHandlerStallsOnlyItself(t *testing.T) {
	t.Parallel()
	inf, w := startedInformer(t)
	release := make(chan struct{})
	defer close(release)
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(interface{}) { <-release }})
	var seenInline []string
	var mu sync.Mutex
	inf.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj interface{}) {
		mu.Lock()
		defer mu.Unlock()
		seenInline = append(seenInline, mustKey(t, obj))
	}})
	events := make(chan string, 10)
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj interface{}) {
		mu.Lock()
		inlineFirst := slices.Contains(seenInline, mustKey(t, obj))
		mu.Unlock()
		if !inlineFirst {
			events <- "not inline first " + mustKey(t, obj)
			return
		}
		events <- "add " + mustKey(t, obj)
	}})
	go inf.Run(t.Context())
	require.ElementsMatch(t, []string{"add a|default", "add b|default"}, []string{next(t, events), next(t, events)})
	w.Add(namespace("c", "default"))
	require.Equal(t, "add c|default", next(t, events))
	require.False(t, inf.HasSynced(), "the blocked handler has not handled the initial list")
}
