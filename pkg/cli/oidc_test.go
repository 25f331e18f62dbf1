package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientauthenticationv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
)

func TestTokenCache(t *testing.T) {
	t.Parallel()
	f := &issuerFlags{IssuerURL: "https://login.example", ClientID: "mesh"}
	dir := t.TempDir()
	path, err := tokenCachePath(dir, f)
	require.NoError(t, err)
	other, err := tokenCachePath(dir, &issuerFlags{IssuerURL: "https://login.example", ClientID: "other"})
	require.NoError(t, err)
	require.NotEqual(t, path, other, "each issuer and client has its own cache file")

	_, err = readTokenCache(path)
	require.ErrorContains(t, err, "not logged in")
	want := &cachedToken{IDToken: "id", RefreshToken: "refresh", Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	require.NoError(t, writeTokenCache(path, want))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	got, err := readTokenCache(path)
	require.NoError(t, err)
	require.Equal(t, want, got)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files are left behind")
}

func TestCachedTokenValid(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		tok  cachedToken
		want bool
	}{
		{"fresh", cachedToken{IDToken: "x", Expiry: now.Add(time.Hour)}, true},
		{"about to expire", cachedToken{IDToken: "x", Expiry: now.Add(expirySkew / 2)}, false},
		{"expired", cachedToken{IDToken: "x", Expiry: now.Add(-time.Minute)}, false},
		{"empty", cachedToken{Expiry: now.Add(time.Hour)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.tok.valid(now))
		})
	}
}

// TestGetTokenPrintsCachedToken runs get-token with a fresh cache: it prints the ID token as
// an ExecCredential without contacting the issuer.
func TestGetTokenPrintsCachedToken(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	o := NewGetTokenOptions(NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &out}))
	o.IssuerURL, o.ClientID, o.CacheDir = "https://unreachable.invalid", "mesh", t.TempDir()
	require.NoError(t, o.Complete(nil))
	require.NoError(t, o.Validate())
	expiry := time.Now().Add(time.Hour).Truncate(time.Second)
	require.NoError(t, writeTokenCache(o.cachePath, &cachedToken{IDToken: "the-id-token", Expiry: expiry}))
	require.NoError(t, o.Run(t.Context()))
	var cred clientauthenticationv1.ExecCredential
	require.NoError(t, json.Unmarshal(out.Bytes(), &cred))
	require.Equal(t, "client.authentication.k8s.io/v1", cred.APIVersion)
	require.Equal(t, "ExecCredential", cred.Kind)
	require.Equal(t, "the-id-token", cred.Status.Token)
	require.True(t, expiry.Equal(cred.Status.ExpirationTimestamp.Time))
}

func TestLoginValidate(t *testing.T) {
	t.Parallel()
	o := NewLoginOptions(NewOptions(genericiooptions.IOStreams{}))
	o.ListenAddress = "0.0.0.0:0"
	err := o.Validate()
	require.ErrorContains(t, err, "--issuer-url is required")
	require.ErrorContains(t, err, "--client-id is required")
	require.ErrorContains(t, err, "must be a loopback HOST:PORT")
}
