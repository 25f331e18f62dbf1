package orchestration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// TestResources caches discovery per account and group version until the account's CRDs or
// bindings change or the answer expires; failures are not cached, and an answer asked for
// before an invalidation is not cached after it.
func TestResources(t *testing.T) {
	t.Parallel()
	calls := map[cluster.ID]int{}
	var fail bool
	var during func()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newResources(func(_ context.Context, id cluster.ID, _ schema.GroupVersion) ([]metav1.APIResource, error) {
		calls[id]++
		if during != nil {
			during()
		}
		if fail {
			return nil, errors.New("boom")
		}
		return []metav1.APIResource{{Name: "widgets", Kind: "Widget"}}, nil
	})
	r.now = func() time.Time { return now }
	gv := schema.GroupVersion{Group: "example.com", Version: "v1"}
	get := func(id cluster.ID) {
		t.Helper()
		_, err := r.get(t.Context(), id, gv)
		require.NoError(t, err)
	}

	get("a")
	get("a")
	get("b")
	require.Equal(t, map[cluster.ID]int{"a": 1, "b": 1}, calls)

	// A CRD of a changes: a asks again, b does not.
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com",
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: "a"}}}
	r.invalidator().OnUpdate(crd, crd)
	get("a")
	get("b")
	require.Equal(t, map[cluster.ID]int{"a": 2, "b": 1}, calls)

	// Expired: asked again.
	now = now.Add(resourcesTTL)
	get("b")
	require.Equal(t, 2, calls["b"])

	// Invalidated while discovery was in flight: not cached.
	during = func() { r.invalidate("c") }
	get("c")
	during = nil
	get("c")
	require.Equal(t, 2, calls["c"])

	// Failures are not cached.
	fail = true
	_, err := r.get(t.Context(), "d", gv)
	require.Error(t, err)
	fail = false
	get("d")
	get("d")
	require.Equal(t, 2, calls["d"])
}
