package webhook

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url           string
		allowLoopback bool
		want          string
	}{
		{"https://127.0.0.1:8443/x", false, "loopback"},
		{"https://127.0.0.1:8443/x", true, ""},
		{"https://[::1]/x", false, "loopback"},
		{"https://[::ffff:127.0.0.1]/x", false, "loopback"},
		{"https://localhost/x", false, "loopback"},
		{"https://localhost/x", true, ""},
		{"https://169.254.169.254/latest", true, "link-local"},
		{"https://[fe80::1]/x", true, "link-local"},
		{"https://0.0.0.0/x", true, "unspecified"},
		{"https://[::]/x", true, "unspecified"},
		{"https://239.1.2.3/x", true, "multicast"},
		{"http://10.0.0.1/x", true, "'https' is the only allowed URL scheme"},
		{"https:///x", true, "host must be specified"},
		{"https://no-such-host.invalid/x", true, "does not resolve"},
		{"https://10.1.2.3/x", false, ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			err := Egress{AllowLoopback: tc.allowLoopback}.CheckURL(t.Context(), tc.url)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestDialContext: the dialer refuses what the URL check refuses, whatever name led there, so
// that a name resolving elsewhere later reaches nothing forbidden.
func TestDialContext(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(s.Close)
	_, port, err := net.SplitHostPort(s.Listener.Addr().String())
	require.NoError(t, err)

	_, err = Egress{}.DialContext(t.Context(), "tcp", net.JoinHostPort("localhost", port))
	require.ErrorContains(t, err, "a loopback address")
	c, err := Egress{AllowLoopback: true}.DialContext(t.Context(), "tcp", net.JoinHostPort("localhost", port))
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
