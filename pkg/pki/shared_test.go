package pki_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/pkg/pki"
)

// TestSharedFilesRoundTrip: the shared files of one replica, written into another's directory,
// make its Ensure keep that CA and admin pair and reissue its serving certificate from that CA.
func TestSharedFilesRoundTrip(t *testing.T) {
	t.Parallel()
	first, second := t.TempDir(), t.TempDir()
	_, err := pki.Ensure(first, []string{"127.0.0.1"})
	require.NoError(t, err)
	_, err = pki.Ensure(second, []string{"127.0.0.1"})
	require.NoError(t, err)
	names := pki.SharedFiles()
	shared, err := pki.ReadShared(first, names)
	require.NoError(t, err)

	written, err := pki.WriteShared(second, names, shared)
	require.NoError(t, err)
	require.ElementsMatch(t, names, written)
	oldServing, err := os.ReadFile(filepath.Join(second, "apiserver.crt"))
	require.NoError(t, err)
	_, err = pki.Ensure(second, []string{"127.0.0.1"})
	require.NoError(t, err)
	got, err := pki.ReadShared(second, names)
	require.NoError(t, err)
	require.Equal(t, shared, got)
	newServing, err := os.ReadFile(filepath.Join(second, "apiserver.crt"))
	require.NoError(t, err)
	require.NotEqual(t, oldServing, newServing, "the serving certificate of the old CA was kept")
	info, err := os.Stat(filepath.Join(second, "ca.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Nothing changes the second time; an unknown name writes nothing.
	written, err = pki.WriteShared(second, names, shared)
	require.NoError(t, err)
	require.Empty(t, written)
	_, err = pki.WriteShared(second, names, map[string][]byte{"../escape": []byte("x")})
	require.ErrorContains(t, err, "unexpected shared file")
	_, err = os.Stat(filepath.Join(filepath.Dir(second), "escape"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
