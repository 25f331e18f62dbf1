package resourcequota

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"configmaps":                       resource.MustParse("5"),
			"count/widgets.example.com":        resource.MustParse("2"),
			"count/gadgets.absent.io":          resource.MustParse("1"),
			"count/leases.coordination.k8s.io": resource.MustParse("3"),
		}},
	}
	key := client.ToClusterKey("acc", "ns", "q")
	var written *corev1.ResourceQuota
	var counted []schema.GroupVersionResource
	r := &reconciler{
		get: func(k string) (*corev1.ResourceQuota, bool) { return quota, k == key },
		preferredVersion: func(_ context.Context, id cluster.ID, group string) (string, error) {
			require.Equal(t, cluster.ID("acc"), id)
			switch group {
			case "example.com":
				return "v2", nil
			case "coordination.k8s.io":
				return "v1", nil
			}
			return "", errNotServed
		},
		count: func(_ context.Context, id cluster.ID, gvr schema.GroupVersionResource, ns string) (int64, error) {
			require.Equal(t, "ns", ns)
			counted = append(counted, gvr)
			return map[string]int64{"configmaps": 4, "widgets": 1, "leases": 0}[gvr.Resource], nil
		},
		updateStatus: func(_ context.Context, id cluster.ID, q *corev1.ResourceQuota) error {
			written = q
			return nil
		},
	}
	after, err := r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, resync, after, "counted again after the resync period")
	require.ElementsMatch(t, []schema.GroupVersionResource{
		{Version: "v1", Resource: "configmaps"},
		{Group: "example.com", Version: "v2", Resource: "widgets"},
		{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
	}, counted, "a group the account does not serve is not listed")
	require.NotNil(t, written)
	for name, want := range map[corev1.ResourceName]int64{"configmaps": 4, "count/widgets.example.com": 1, "count/gadgets.absent.io": 0, "count/leases.coordination.k8s.io": 0} {
		got := written.Status.Used[name]
		require.Equal(t, want, got.Value(), name)
	}
	require.Equal(t, quota.Spec.Hard, written.Status.Hard)

	// Nothing changed: no write.
	quota, written = written, nil
	_, err = r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Nil(t, written)
}
