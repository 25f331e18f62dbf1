package quota

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestObjectCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            corev1.ResourceName
		resource, group string
		ok              bool
	}{
		{"configmaps", "configmaps", "", true},
		{"count/configmaps", "configmaps", "", true},
		{"count/widgets.example.com", "widgets", "example.com", true},
		{"count/", "", "", false},
		{"cpu", "", "", false},
		{"requests.memory", "", "", false},
	} {
		r, g, ok := ObjectCount(tc.name)
		require.Equal(t, tc.ok, ok, tc.name)
		require.Equal(t, tc.resource, r, tc.name)
		require.Equal(t, tc.group, g, tc.name)
	}
	require.Equal(t, []corev1.ResourceName{"count/configmaps", "configmaps"}, CountNames("configmaps", ""))
	require.Equal(t, []corev1.ResourceName{"count/leases"}, CountNames("leases", ""))
	require.Equal(t, []corev1.ResourceName{"count/widgets.example.com"}, CountNames("widgets", "example.com"))
}
