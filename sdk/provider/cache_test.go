package provider

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fakeSource serves one shared informer of config maps.
type fakeSource struct{ si *sharedInformer }

func (f *fakeSource) informerFor(context.Context, runtime.Object) (*sharedInformer, error) {
	return f.si, nil
}

func (f *fakeSource) informerForKind(context.Context, schema.GroupVersionKind) (*sharedInformer, error) {
	return f.si, nil
}

func (f *fakeSource) allInformers() []*sharedInformer { return []*sharedInformer{f.si} }

func (f *fakeSource) IndexField(_ context.Context, _ client.Object, field string, extract client.IndexerFunc) error {
	return f.si.indexField(field, extract)
}

// fakeLW lists a fixed list, then serves a fake watch.
type fakeLW struct {
	list runtime.Object
	w    *watch.FakeWatcher
}

func (f *fakeLW) List(metav1.ListOptions) (runtime.Object, error)   { return f.list, nil }
func (f *fakeLW) Watch(metav1.ListOptions) (watch.Interface, error) { return f.w, nil }
func (f *fakeLW) IsWatchListSemanticsUnSupported() bool             { return true }
func labelled(cm *corev1.ConfigMap, k, v string) *corev1.ConfigMap {
	cm.Labels = map[string]string{k: v}
	return cm
}
func withData(cm *corev1.ConfigMap, k, v string) *corev1.ConfigMap {
	cm.Data = map[string]string{k: v}
	return cm
}

// startFakeInformer runs a config map informer over objs of several accounts.
func startFakeInformer(t testing.TB, objs ...*corev1.ConfigMap) (*fakeSource, *watch.FakeWatcher) {
	t.Helper()
	list := &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for _, o := range objs {
		list.Items = append(list.Items, *o)
	}
	w := watch.NewFake()
	key := informerKey{gvk: corev1.SchemeGroupVersion.WithKind("ConfigMap"), form: formTyped}
	si := newSharedInformer(key, true, &fakeLW{list: list, w: w}, &corev1.ConfigMap{})
	src := &fakeSource{si: si}
	require.NoError(t, src.IndexField(t.Context(), &corev1.ConfigMap{}, "data.owner", func(o client.Object) []string {
		if v, ok := o.(*corev1.ConfigMap).Data["owner"]; ok {
			return []string{v}
		}
		return nil
	}))
	go si.run(t.Context())
	require.True(t, (&scopedCache{src: src, cluster: "a"}).WaitForCacheSync(t.Context()))
	return src, w
}

// TestScopedCacheReadsOneAccount reads objects with equal names in accounts a and b through
// each account's scoped cache and checks that neither sees the other's.
func TestScopedCacheReadsOneAccount(t *testing.T) {
	t.Parallel()
	src, _ := startFakeInformer(t,
		withData(labelled(configMap("a", "default", "x"), "app", "db"), "owner", "alice"),
		configMap("a", "other", "y"),
		withData(configMap("a", "other", "z"), "owner", "alice"),
		withData(labelled(configMap("b", "default", "x"), "app", "db"), "owner", "alice"),
	)
	a := &scopedCache{src: src, cluster: "a"}
	b := &scopedCache{src: src, cluster: "b"}
	c := &scopedCache{src: src, cluster: "c"}

	var cm corev1.ConfigMap
	require.NoError(t, a.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "x"}, &cm))
	require.Equal(t, "a", string(clusterOf(&cm)))
	require.Equal(t, "ConfigMap", cm.Kind)
	require.NoError(t, b.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "x"}, &cm))
	require.Equal(t, "b", string(clusterOf(&cm)))
	err := b.Get(t.Context(), client.ObjectKey{Namespace: "other", Name: "y"}, &cm)
	require.True(t, apierrors.IsNotFound(err), "got %v", err)
	err = c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "x"}, &cm)
	require.True(t, apierrors.IsNotFound(err), "got %v", err)

	tests := []struct {
		name  string
		cache *scopedCache
		opts  []client.ListOption
		want  []string
	}{
		{"all of a", a, nil, []string{"default/x", "other/y", "other/z"}},
		{"all of b", b, nil, []string{"default/x"}},
		{"none of c", c, nil, []string{}},
		{"namespace of a", a, []client.ListOption{client.InNamespace("other")}, []string{"other/y", "other/z"}},
		{"namespace of b", b, []client.ListOption{client.InNamespace("other")}, []string{}},
		{"labels in a", a, []client.ListOption{client.MatchingLabels{"app": "db"}}, []string{"default/x"}},
		{"field in a", a, []client.ListOption{client.MatchingFields{"data.owner": "alice"}}, []string{"default/x", "other/z"}},
		{"field in a's namespace", a, []client.ListOption{client.InNamespace("other"), client.MatchingFields{"data.owner": "alice"}}, []string{"other/z"}},
		{"field in b", b, []client.ListOption{client.MatchingFields{"data.owner": "alice"}}, []string{"default/x"}},
		{"field and labels in a", a, []client.ListOption{client.MatchingFields{"data.owner": "alice"}, client.MatchingLabels{"app": "db"}}, []string{"default/x"}},
		{"limit in a", a, []client.ListOption{client.InNamespace("other"), client.Limit(1)}, nil},
	}
	for _, tt := range tests {
		var list corev1.ConfigMapList
		require.NoError(t, tt.cache.List(t.Context(), &list, tt.opts...), tt.name)
		if tt.want == nil {
			require.Len(t, list.Items, 1, tt.name)
			continue
		}
		got := []string{}
		for _, item := range list.Items {
			require.Equal(t, string(tt.cache.cluster), string(clusterOf(&item)), tt.name)
			got = append(got, item.Namespace+"/"+item.Name)
		}
		require.ElementsMatch(t, tt.want, got, tt.name)
	}

	var list corev1.ConfigMapList
	require.Error(t, a.List(t.Context(), &list, client.MatchingFields{"data.unknown": "x"}))
}

// TestScopedInformerDeliversOneAccount registers a handler through account a's scoped
// informer and checks that it gets a's existing objects and a's events only.
func TestScopedInformerDeliversOneAccount(t *testing.T) {
	t.Parallel()
	src, w := startFakeInformer(t, configMap("a", "default", "x"), configMap("b", "default", "x"))
	a := &scopedCache{src: src, cluster: "a"}
	inf, err := a.GetInformer(t.Context(), &corev1.ConfigMap{})
	require.NoError(t, err)
	require.True(t, inf.HasSynced())

	events := make(chan string, 10)
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { events <- "add " + key(obj) },
		UpdateFunc: func(_, obj any) { events <- "update " + key(obj) },
		DeleteFunc: func(obj any) { events <- "delete " + key(obj) },
	})
	require.NoError(t, err)
	require.True(t, reg.HasSynced())
	require.Equal(t, "add a/x", next(t, events))

	w.Add(configMap("b", "default", "new"))
	w.Add(configMap("a", "default", "new"))
	require.Equal(t, "add a/new", next(t, events))
	w.Modify(withData(configMap("b", "default", "x"), "k", "v"))
	w.Modify(withData(configMap("a", "default", "x"), "k", "v"))
	require.Equal(t, "update a/x", next(t, events))
	w.Delete(configMap("b", "default", "x"))
	w.Delete(configMap("a", "default", "x"))
	require.Equal(t, "delete a/x", next(t, events))

	require.NoError(t, inf.RemoveEventHandler(reg))
	w.Add(configMap("a", "default", "after"))
	// a's cache has the new object, b's has not, and the removed handler got no event.
	b := &scopedCache{src: src, cluster: "b"}
	var cm corev1.ConfigMap
	require.Eventually(t, func() bool {
		return a.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "after"}, &cm) == nil
	}, 10*time.Second, 10*time.Millisecond)
	require.True(t, apierrors.IsNotFound(b.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "after"}, &cm)))
	select {
	case e := <-events:
		t.Fatalf("event %q after the handler was removed", e)
	default:
	}
}

func key(obj any) string {
	return string(clusterOf(obj)) + "/" + obj.(*corev1.ConfigMap).Name
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
