package oidc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content, wantErr string
		wantIssuer             string
	}{
		{name: "v1", content: `apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: https://login.example
    audiences: [mesh]
  claimMappings:
    username: {claim: email, prefix: ""}
`, wantIssuer: "https://login.example"},
		{name: "unknown field", content: `apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwts: []
`, wantErr: "unknown field"},
		{name: "wrong kind", content: `apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
`, wantErr: "AuthenticationConfiguration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "auth.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			jwts, err := LoadConfig(path)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, jwts, 1)
			require.Equal(t, tc.wantIssuer, jwts[0].Issuer.URL)
		})
	}
}

func TestUnverifiedIssuer(t *testing.T) {
	t.Parallel()
	require.Equal(t, "https://a.example", UnverifiedIssuer(fakeJWT("https://a.example")))
	for _, bad := range []string{"", "static", "a.b", "a.%%%.c", "a.bm90IGpzb24.c"} {
		require.Empty(t, UnverifiedIssuer(bad), bad)
	}
}
