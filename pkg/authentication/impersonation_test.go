package authentication

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// TestImpersonationFilters runs a request through the filters as the server chains them, with
// a stand-in for upstream's impersonation filter that switches to the impersonated user.
func TestImpersonationFilters(t *testing.T) {
	t.Parallel()
	codecs := serializer.NewCodecFactory(runtime.NewScheme())
	masters := &user.DefaultInfo{Name: "admin", Groups: []string{user.SystemPrivilegedGroup}}
	tenant := &user.DefaultInfo{Name: "mallory", Groups: []string{user.AllAuthenticated}}
	for _, tc := range []struct {
		name         string
		headers      map[string][]string
		requester    user.Info
		wantStatus   int
		wantConfined bool
	}{
		{name: "no impersonation", requester: tenant, wantStatus: http.StatusOK},
		{name: "a tenant impersonates", headers: map[string][]string{"Impersonate-User": {"bob"}}, requester: tenant, wantStatus: http.StatusOK, wantConfined: true},
		{name: "system:masters impersonates", headers: map[string][]string{"Impersonate-User": {"bob"}}, requester: masters, wantStatus: http.StatusOK},
		{name: "confined system:masters impersonates", headers: map[string][]string{"Impersonate-User": {"bob"}}, requester: Confine(masters, "x"), wantStatus: http.StatusOK, wantConfined: true},
		{name: "reserved group", headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Group": {"dev", "accountmesh:subtree:root"}}, requester: masters, wantStatus: http.StatusForbidden},
		{name: "reserved extra", headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Extra-Accountmesh.io%2faccount": {"x"}}, requester: masters, wantStatus: http.StatusForbidden},
		{name: "reserved extra, unescaped", headers: map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Extra-Accountmesh.io/Account": {"x"}}, requester: masters, wantStatus: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got user.Info
			final := WithImpersonationConfined(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
				got, _ = request.UserFrom(req.Context())
			}))
			authn := WithImpersonator(authenticator.RequestFunc(func(*http.Request) (*authenticator.Response, bool, error) {
				return &authenticator.Response{User: tc.requester}, true, nil
			}))
			chain := WithImpersonationRequested(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				resp, _, _ := authn.AuthenticateRequest(req)
				u := resp.User
				if name := req.Header.Get("Impersonate-User"); name != "" {
					u = &user.DefaultInfo{Name: name}
				}
				final.ServeHTTP(w, req.WithContext(request.WithUser(req.Context(), u)))
			}), codecs)
			req := httptest.NewRequestWithContext(cluster.WithCluster(t.Context(), "team"), http.MethodGet, "/api", nil)
			for k, v := range tc.headers {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			chain.ServeHTTP(rec, req)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			if tc.wantStatus != http.StatusOK {
				require.Nil(t, got)
				return
			}
			id, confined := ConfinedTo(got)
			require.Equal(t, tc.wantConfined, confined)
			if confined {
				require.Equal(t, cluster.ID("team"), id)
			}
		})
	}
}
