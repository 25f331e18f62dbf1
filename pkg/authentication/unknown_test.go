package authentication

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

type resolver map[string]cluster.ID

func (r resolver) Resolve(s string) (cluster.ID, bool) {
	id, ok := r[s]
	return id, ok
}

func TestWithUnknownAccounts(t *testing.T) {
	t.Parallel()
	auth := authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		if req.Header.Get("Authorization") == "Bearer good" {
			return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}, true, nil
		}
		return nil, false, nil
	})
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := WithUnknownAccounts(next, resolver{"root": "rootrootrootroot"}, auth, scheme.Codecs)
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"known account, anyone", "/clusters/root/api", "", http.StatusTeapot},
		{"wildcard", "/clusters/*/api", "", http.StatusTeapot},
		{"outside accounts", "/readyz", "", http.StatusTeapot},
		{"unknown account, authenticated", "/clusters/root:nope/api", "good", http.StatusTeapot},
		{"unknown account, not authenticated", "/clusters/root:nope/api", "bad", http.StatusUnauthorized},
		{"unknown account, no credentials", "/clusters/root:nope", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code)
			if tc.want == http.StatusUnauthorized {
				require.JSONEq(t, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`, rec.Body.String())
			}
		})
	}
}
