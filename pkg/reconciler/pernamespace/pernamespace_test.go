package pernamespace

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// namespaceIn returns the metadata of a namespace of account id.
func namespaceIn(id cluster.ID, name string, deleted bool) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name,
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(id)}}}
	if deleted {
		now := metav1.Now()
		m.DeletionTimestamp = &now
	}
	return m
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	store := cache.NewStore(client.ClusterKey)
	require.NoError(t, store.Add(namespaceIn("a", "team", false)))
	require.NoError(t, store.Add(namespaceIn("a", "leaving", true)))
	require.NoError(t, store.Add(namespaceIn("b", "other", false)))
	tests := []struct {
		name      string
		key       string
		ensureErr error
		want      []string
		wantErr   bool
	}{
		{name: "active namespace", key: client.ToClusterKey("a", "", "team"), want: []string{"a/team"}},
		{name: "namespace of another account", key: client.ToClusterKey("a", "", "other")},
		{name: "missing namespace", key: client.ToClusterKey("a", "", "gone")},
		{name: "terminating namespace", key: client.ToClusterKey("a", "", "leaving")},
		{name: "failed ensure is retried", key: client.ToClusterKey("b", "", "other"), ensureErr: errors.New("boom"),
			want: []string{"b/other"}, wantErr: true},
		{name: "bad key", key: "no-cluster", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			c := &Controller{
				ensure: func(_ context.Context, id cluster.ID, namespace string) error {
					got = append(got, string(id)+"/"+namespace)
					return tc.ensureErr
				},
			}
			err := c.reconcileIn(t.Context(), store, tc.key)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNamespaceKeys(t *testing.T) {
	t.Parallel()
	key, ok := client.NamespaceKey(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "team",
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: "a"}}})
	require.True(t, ok)
	require.Equal(t, client.ToClusterKey("a", "", "team"), key, "an object queues its namespace in its account")
	key, ok = client.NamespaceKey(cache.DeletedFinalStateUnknown{Key: client.ToClusterKey("b", "team", "default")})
	require.True(t, ok)
	require.Equal(t, client.ToClusterKey("b", "", "team"), key, "so does its tombstone")
	_, ok = client.NamespaceKey(namespaceIn("a", "team", false))
	require.False(t, ok, "a cluster-scoped object has no namespace")
}
