package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	s := newSessions(3, 2, time.Hour, 4*time.Hour, func() time.Time { return now })

	a, x, err := s.create("token-a", "alice", "root")
	require.NoError(t, err)
	require.NotEqual(t, a, x.csrf)
	got, ok := s.get(a)
	require.True(t, ok)
	require.Equal(t, "token-a", got.token)
	_, ok = s.get("")
	require.False(t, ok)
	_, ok = s.get(a + "x")
	require.False(t, ok)

	// The oldest session of a credential gives way beyond the per-credential bound.
	now = now.Add(time.Minute)
	a2, _, err := s.create("token-a", "alice", "root")
	require.NoError(t, err)
	now = now.Add(time.Minute)
	_, _, err = s.create("token-a", "alice", "root")
	require.NoError(t, err)
	_, ok = s.get(a)
	require.False(t, ok, "the oldest session of token-a should be gone")
	_, ok = s.get(a2)
	require.True(t, ok)

	// The store is bounded: a third credential fits, a fourth session does not.
	b, _, err := s.create("token-b", "bob", "root")
	require.NoError(t, err)
	_, _, err = s.create("token-c", "carol", "root")
	require.ErrorIs(t, err, errTooManySessions)

	// Idle sessions expire, and make room.
	now = now.Add(59 * time.Minute)
	_, ok = s.get(b)
	require.True(t, ok)
	now = now.Add(61 * time.Minute)
	_, ok = s.get(a2)
	require.False(t, ok, "idle for more than an hour")
	_, _, err = s.create("token-c", "carol", "root")
	require.NoError(t, err)

	// So do sessions older than their maximum age, however busy.
	for range 5 {
		now = now.Add(50 * time.Minute)
		_, ok = s.get(b)
	}
	require.False(t, ok, "older than four hours")
	require.LessOrEqual(t, s.len(), 3)
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	x := &session{csrf: "abc"}
	require.True(t, x.validCSRF("abc"))
	require.False(t, x.validCSRF(""))
	require.False(t, x.validCSRF("abd"))
	require.False(t, (&session{}).validCSRF(""))
}

func TestProxyTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, want string
	}{
		{"/console/api/clusters/root:acme/api/v1/namespaces?watch=1", "/clusters/root:acme/api/v1/namespaces?watch=1"},
		{"/console/api/clusters/root/apis/core.accountmesh.io/v1alpha1/accounts", "/clusters/root/apis/core.accountmesh.io/v1alpha1/accounts"},
		{"/console/api/clusters/root", "/clusters/root"},
		{"/console/api/clusters/root/apis/x.io/v1/things/a%40b", "/clusters/root/apis/x.io/v1/things/a%40b"},
		{"/console/api/clusters/root/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/a%3Ab", "/clusters/root/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/a%3Ab"},
		{"/console/api/clusters/root/api/v1/namespaces/%2e%2e", ""},
		{"/console/api/clusters/root/api/v1/namespaces/a%252F", ""},
		{"/console/api/clusters/root%3Aacme/api", "/clusters/root%3Aacme/api"},
		{"/console/api/clusters/%2A/api", ""},
		{"/console/api/metrics", ""},
		{"/console/api/clusters/*/api/v1/configmaps", ""},
		{"/console/api/clusters/root/../../metrics", ""},
		{"/console/api/clusters/root/./api", ""},
		{"/console/api/clusters/root//api", ""},
		{"/console/api/clusters/root/api/", ""},
		{"/console/api/clusters/root%2F..%2Fmetrics", ""},
		{"/console/api/clusters/ROOT/api", ""},
		{"/console/api/clusters/", ""},
		{"/console/api/services/export/root/x/clusters/root/api", ""},
		{"/console/apiclusters/root", ""},
	} {
		req := httptest.NewRequest(http.MethodGet, "https://h"+tc.path, nil)
		got, _, err := proxyTarget(req)
		if tc.want == "" {
			require.Error(t, err, tc.path)
			continue
		}
		require.NoError(t, err, tc.path)
		require.Equal(t, tc.want, got)
	}
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		origin, site string
		ok           bool
	}{
		{"https://mesh.example:6443", "", true},
		{"https://mesh.example:6443", "same-origin", true},
		{"https://mesh.example:6443", "same-site", false},
		{"", "", false},
		{"null", "", false},
		{"http://mesh.example:6443", "", false},
		{"https://evil.example", "", false},
		{"https://mesh.example:6443/x", "", false},
	} {
		req := httptest.NewRequest(http.MethodPost, "https://mesh.example:6443/console/session", nil)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			req.Header.Set("Sec-Fetch-Site", tc.site)
		}
		require.Equal(t, tc.ok, checkOrigin(req) == nil, "%+v", tc)
	}
}
