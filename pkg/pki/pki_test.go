package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/pkg/pki"
)

var hosts = []string{"127.0.0.1", "::1", "localhost"}

func TestEnsureCreatesEverything(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	f, err := pki.Ensure(dir, hosts)
	require.NoError(t, err)
	require.Equal(t, pki.FilesIn(dir), f)

	require.ElementsMatch(t, []string{"ca.crt", "ca.key", "admin.crt", "admin.key", "apiserver.crt", "apiserver.key"},
		dirNames(t, dir), "unexpected or temporary files")
	for _, key := range []string{f.CAKey, f.AdminKey, f.ServingKey} {
		info, err := os.Stat(key)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), key)
	}
	ca := loadPair(t, f.CACert, f.CAKey)
	require.True(t, ca.IsCA)
	admin := loadPair(t, f.AdminCert, f.AdminKey)
	require.Equal(t, pki.AdminUser, admin.Subject.CommonName)
	require.Equal(t, []string{pki.AdminGroup}, admin.Subject.Organization)
	verify(t, ca, admin, x509.ExtKeyUsageClientAuth, "")
	serving := loadPair(t, f.ServingCert, f.ServingKey)
	for _, h := range hosts {
		verify(t, ca, serving, x509.ExtKeyUsageServerAuth, h)
	}
}

func TestEnsureKeepsExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := pki.Ensure(dir, hosts)
	require.NoError(t, err)
	first := readAll(t, dir)

	_, err = pki.Ensure(dir, hosts)
	require.NoError(t, err)
	require.Equal(t, first, readAll(t, dir), "a second Ensure with the same hosts changed a file")

	_, err = pki.Ensure(dir, append([]string{"mesh.example.com"}, hosts...))
	require.NoError(t, err)
	now := readAll(t, dir)
	for _, name := range []string{"ca.crt", "ca.key", "admin.crt", "admin.key"} {
		require.Equal(t, first[name], now[name], "%s changed with the hosts", name)
	}
	require.NotEqual(t, first["apiserver.crt"], now["apiserver.crt"], "the serving certificate was not reissued for a new host")
	verify(t, loadPair(t, f.CACert, f.CAKey), loadPair(t, f.ServingCert, f.ServingKey), x509.ExtKeyUsageServerAuth, "mesh.example.com")
}

// TestEnsureBrokenPair breaks a pair of a complete PKI directory, as a crash between writing a
// key and its certificate or an operator's mistake would, and checks that Ensure refuses the CA
// and admin pairs, naming the files and writing nothing, and reissues the serving pair.
func TestEnsureBrokenPair(t *testing.T) {
	t.Parallel()
	// Each damage function gets the directory and names files in it.
	copyFile := func(from, to string) func(dir string) error {
		return func(dir string) error {
			b, err := os.ReadFile(filepath.Join(dir, from))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, to), b, 0o600)
		}
	}
	remove := func(name string) func(dir string) error {
		return func(dir string) error { return os.Remove(filepath.Join(dir, name)) }
	}
	garble := func(name string) func(dir string) error {
		return func(dir string) error { return os.WriteFile(filepath.Join(dir, name), []byte("-----BEGIN"), 0o600) }
	}
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
		// wantErr is the error, with DIR standing for the directory; empty means the serving
		// pair is reissued.
		wantErr string
	}{
		{name: "CA key does not match", damage: copyFile("admin.key", "ca.key"),
			wantErr: "key DIR/ca.key does not match certificate DIR/ca.crt"},
		{name: "CA certificate missing", damage: remove("ca.crt"),
			wantErr: "key DIR/ca.key has no certificate DIR/ca.crt"},
		{name: "CA key missing", damage: remove("ca.key"),
			wantErr: "certificate DIR/ca.crt has no key DIR/ca.key"},
		{name: "CA certificate garbled", damage: garble("ca.crt"),
			wantErr: "DIR/ca.crt holds no PEM block"},
		{name: "admin key does not match", damage: copyFile("apiserver.key", "admin.key"),
			wantErr: "key DIR/admin.key does not match certificate DIR/admin.crt"},
		{name: "admin certificate missing", damage: remove("admin.crt"),
			wantErr: "key DIR/admin.key has no certificate DIR/admin.crt"},
		{name: "admin key missing", damage: remove("admin.key"),
			wantErr: "certificate DIR/admin.crt has no key DIR/admin.key"},
		{name: "serving key does not match", damage: copyFile("admin.key", "apiserver.key")},
		{name: "serving certificate missing", damage: remove("apiserver.crt")},
		{name: "serving key missing", damage: remove("apiserver.key")},
		{name: "serving key garbled", damage: garble("apiserver.key")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f, err := pki.Ensure(dir, hosts)
			require.NoError(t, err)
			good := readAll(t, dir)
			require.NoError(t, tc.damage(dir), "test setup")
			broken := readAll(t, dir)

			_, err = pki.Ensure(dir, hosts)

			if tc.wantErr != "" {
				require.ErrorContains(t, err, strings.ReplaceAll(tc.wantErr, "DIR", dir))
				require.Equal(t, broken, readAll(t, dir), "Ensure wrote to a directory it refused")
				return
			}
			require.NoError(t, err)
			now := readAll(t, dir)
			for _, name := range []string{"ca.crt", "ca.key", "admin.crt", "admin.key"} {
				require.Equal(t, good[name], now[name], "%s changed", name)
			}
			require.Len(t, now, len(good), "unexpected or temporary files")
			verify(t, loadPair(t, f.CACert, f.CAKey), loadPair(t, f.ServingCert, f.ServingKey), x509.ExtKeyUsageServerAuth, hosts[0])
		})
	}
}

// readAll returns the contents of every file in dir by name.
func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, name := range dirNames(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		files[name] = string(b)
	}
	require.NotEmpty(t, slices.Collect(maps.Keys(files)))
	return files
}

// loadPair loads a certificate and key with the standard library, which checks that they match,
// and returns the certificate.
func loadPair(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	return pair.Leaf
}

// verify checks that cert is signed by ca for usage and, when host is set, covers host.
func verify(t *testing.T, ca, cert *x509.Certificate, usage x509.ExtKeyUsage, host string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}})
	require.NoError(t, err)
}
