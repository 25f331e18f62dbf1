package provider

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDependenciesReady(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		annotations map[string]string
		want        bool
	}{
		{nil, true},
		{map[string]string{"orchestration.accountmesh.io/dependencies-ready": "true"}, true},
		{map[string]string{"orchestration.accountmesh.io/dependencies-ready": "false"}, false},
		{map[string]string{"orchestration.accountmesh.io/dependencies-ready": "yes"}, false},
	} {
		require.Equal(t, tc.want, DependenciesReady(&metav1.ObjectMeta{Annotations: tc.annotations}), "%v", tc.annotations)
	}
}
