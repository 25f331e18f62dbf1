package filters

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestWithPlatformGroups(t *testing.T) {
	t.Parallel()
	const root = cluster.ID("rootid0000000000")
	var seen cluster.ID
	h := WithPlatformGroups(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		seen, _ = cluster.FromContext(req.Context())
	}), root, "flowcontrol.apiserver.k8s.io")
	for _, tc := range []struct {
		name, path string
		in, want   cluster.ID
	}{
		{"platform group in an account", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", "acmeid0000000000", root},
		{"platform group across accounts", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", cluster.Wildcard, root},
		{"other groups stay", "/api/v1/configmaps", "acmeid0000000000", "acmeid0000000000"},
		{"a group that only starts alike stays", "/apis/flowcontrol.apiserver.k8s.io.evil.com/v1/x", "acmeid0000000000", "acmeid0000000000"},
		{"unknown accounts stay unknown", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", cluster.Unknown, cluster.Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil).WithContext(cluster.WithCluster(context.Background(), tc.in))
			h.ServeHTTP(httptest.NewRecorder(), req)
			require.Equal(t, tc.want, seen)
		})
	}
}
