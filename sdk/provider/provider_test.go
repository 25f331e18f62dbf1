package provider

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

func newTestProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(Options{Config: &rest.Config{Host: "https://example.test:6443/clusters/root:prov"}, Path: "root:prov", Export: "db"})
	require.NoError(t, err)
	return p
}

// TestViewConfig checks the view URLs a provider derives from an account URL.
func TestViewConfig(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	require.Equal(t, "https://example.test:6443/services/export/root:prov/db/clusters/abc", p.ViewConfig("abc").Host)
	require.Equal(t, "https://example.test:6443/services/export/root:prov/db/clusters/*", p.ViewConfig("*").Host)
	require.Equal(t, "https://example.test:6443/clusters/shadowid", p.AccountConfig("shadowid").Host)

	for _, o := range []Options{
		{Path: "root:prov", Export: "db"},
		{Config: &rest.Config{}, Export: "db"},
		{Config: &rest.Config{}, Path: "root:prov"},
		{Config: &rest.Config{}, Path: "root/x", Export: "db"},
	} {
		_, err := New(o)
		require.Error(t, err, "%+v", o)
	}
}

// fakeAware records engagements and the contexts that end them.
type fakeAware struct {
	mu      sync.Mutex
	engaged map[multicluster.ClusterName]context.Context
	fail    bool
}

func (a *fakeAware) Engage(ctx context.Context, c multicluster.ClusterName, _ cluster.Cluster) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("refused")
	}
	a.engaged[c] = ctx
	return nil
}

func apiBinding(c, name string, phase apisv1alpha1.BindingPhase, deleting bool) *apisv1alpha1.APIBinding {
	b := &apisv1alpha1.APIBinding{ObjectMeta: metav1.ObjectMeta{Name: name,
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: c}}, Status: apisv1alpha1.APIBindingStatus{Phase: phase}}
	if deleting {
		now := metav1.Now()
		b.DeletionTimestamp = &now
		b.Finalizers = []string{"apis.accountmesh.io/apibinding"}
	}
	return b
}

// TestEngageFollowsBindings feeds bindings to the provider's engagement step and checks that
// an account is engaged while one of its bindings is Bound or unbinding, and disengaged (its
// context ended, its handlers dropped) once none is.
func TestEngageFollowsBindings(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	w := watch.NewFake()
	list := &apisv1alpha1.APIBindingList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []apisv1alpha1.APIBinding{
		*apiBinding("a", "db", apisv1alpha1.BindingPhaseBound, false),
		*apiBinding("b", "db", apisv1alpha1.BindingPhaseBinding, false),
		*apiBinding("c", "db", apisv1alpha1.BindingPhaseBinding, true),
		*apiBinding("d", "db", apisv1alpha1.BindingPhaseUnbinding, true),
	}}
	key := informerKey{gvk: apisv1alpha1.SchemeGroupVersion.WithKind("APIBinding"), form: formTyped}
	bindings := newSharedInformer(key, false, &fakeLW{list: list, w: w}, &apisv1alpha1.APIBinding{})
	p.informers[key] = bindings
	go bindings.run(t.Context())
	require.NoError(t, bindings.waitForSync(t.Context()))

	aware := &fakeAware{engaged: map[multicluster.ClusterName]context.Context{}}
	for _, c := range []multicluster.ClusterName{"a", "b", "c", "d", "e"} {
		require.NoError(t, p.sync(t.Context(), aware, bindings, c))
	}
	require.ElementsMatch(t, []multicluster.ClusterName{"a", "d"}, keys(aware.engaged))
	cl, err := p.Get(t.Context(), "a")
	require.NoError(t, err)
	require.Equal(t, "https://example.test:6443/services/export/root:prov/db/clusters/a", cl.GetConfig().Host)
	_, err = p.Get(t.Context(), "b")
	require.ErrorIs(t, err, multicluster.ErrClusterNotFound)

	// A handler of a, to see that disengaging drops it.
	reg := bindings.dispatch.add("a", &eventLog{})
	require.Equal(t, 1, bindings.dispatch.len())

	// Syncing again changes nothing.
	ctxA := aware.engaged["a"]
	require.NoError(t, p.sync(t.Context(), aware, bindings, "a"))
	require.Equal(t, ctxA, aware.engaged["a"])

	// a starts unbinding: still engaged, so that its instances' finalizers can run.
	w.Modify(apiBinding("a", "db", apisv1alpha1.BindingPhaseUnbinding, true))
	require.Eventually(t, func() bool {
		objs := bindings.byCluster("a")
		return len(objs) == 1 && objs[0].(*apisv1alpha1.APIBinding).DeletionTimestamp != nil
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, p.sync(t.Context(), aware, bindings, "a"))
	require.NoError(t, ctxA.Err())

	// a's binding is gone: disengaged.
	w.Delete(apiBinding("a", "db", apisv1alpha1.BindingPhaseUnbinding, true))
	require.Eventually(t, func() bool { return len(bindings.byCluster("a")) == 0 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, p.sync(t.Context(), aware, bindings, "a"))
	require.Error(t, ctxA.Err(), "a's engagement context must end")
	_, err = p.Get(t.Context(), "a")
	require.ErrorIs(t, err, multicluster.ErrClusterNotFound)
	require.Equal(t, 0, bindings.dispatch.len())
	bindings.dispatch.remove(reg)

	// b becomes Bound, but the aware refuses: not engaged, and the error is returned for a retry.
	w.Modify(apiBinding("b", "db", apisv1alpha1.BindingPhaseBound, false))
	require.Eventually(t, func() bool {
		objs := bindings.byCluster("b")
		return len(objs) == 1 && objs[0].(*apisv1alpha1.APIBinding).Status.Phase == apisv1alpha1.BindingPhaseBound
	}, 10*time.Second, 10*time.Millisecond)
	aware.fail = true
	require.Error(t, p.sync(t.Context(), aware, bindings, "b"))
	_, err = p.Get(t.Context(), "b")
	require.ErrorIs(t, err, multicluster.ErrClusterNotFound)
	aware.fail = false
	require.NoError(t, p.sync(t.Context(), aware, bindings, "b"))
	_, err = p.Get(t.Context(), "b")
	require.NoError(t, err)
}

func keys[V any](m map[multicluster.ClusterName]V) []multicluster.ClusterName {
	out := make([]multicluster.ClusterName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
