package console

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProxyAccept checks that the proxy passes on the Accept headers of the pages (JSON, the
// Tables of kubectl get, aggregated discovery) and asks for JSON instead of any other.
func TestProxyAccept(t *testing.T) {
	t.Parallel()
	const (
		table     = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
		discovery = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
	)
	for _, tc := range []struct{ accept, want string }{
		{"application/json", "application/json"},
		{table, table},
		{"application/json; as=Table; v=v1; g=meta.k8s.io, application/json", "application/json; as=Table; v=v1; g=meta.k8s.io, application/json"},
		{discovery, discovery},
		{"application/yaml", "application/yaml"},
		{"", "application/json"},
		{"application/vnd.kubernetes.protobuf", "application/json"},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "application/json"},
		{"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", "application/json"},
		{"text/html", "application/json"},
	} {
		var got string
		c := New(Options{API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get("Accept")
			w.WriteHeader(http.StatusOK)
		})})
		id, x, err := c.sessions.create("token", "alice", "root")
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodGet, "https://h/console/api/clusters/root/api/v1/configmaps", nil)
		req.AddCookie(cookie(id, 0))
		req.Header.Set(csrfHeader, x.csrf)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, tc.accept)
		require.Equal(t, tc.want, got, tc.accept)
	}
}
