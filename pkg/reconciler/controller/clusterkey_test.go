package controller

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

// TestClusterKeyHandler checks that the handler queues objects of the wildcard by cluster key,
// deletions only when asked, and nothing for objects without an account.
func TestClusterKeyHandler(t *testing.T) {
	t.Parallel()
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: "acc"}}}
	stray := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}
	for _, deletes := range []bool{false, true} {
		q := NewQueue(Options[string]{Name: "test", Reconcile: func(context.Context, string) (time.Duration, error) { return 0, nil }})
		h := ClusterKeyHandler(q, deletes)
		h.OnAdd(stray, false)
		require.Equal(t, 0, q.Len(), "an object without an account is not queued")
		h.OnDelete(obj)
		want := 0
		if deletes {
			want = 1
		}
		require.Equal(t, want, q.Len(), "deletions queued only with deletes")
		h.OnUpdate(obj, obj)
		require.Equal(t, 1, q.Len())
		key, _ := q.queue.Get()
		require.Equal(t, "acc|ns/a", key)
	}
}
