package pki_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/pkg/pki"
)

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// existing is the file's contents before the write; nil means there is no file.
		existing []byte
		perm     os.FileMode
	}{
		{name: "creates a file", perm: 0o600},
		{name: "replaces a file", existing: []byte("old contents, longer than the new ones"), perm: 0o600},
		{name: "sets the mode of a replaced file", existing: []byte("old"), perm: 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "file.key")
			var old *os.File
			if tc.existing != nil {
				require.NoError(t, os.WriteFile(path, tc.existing, 0o640))
				var err error
				old, err = os.Open(path)
				require.NoError(t, err)
				t.Cleanup(func() { _ = old.Close() })
			}

			require.NoError(t, pki.WriteFileAtomic(path, []byte("new"), tc.perm))

			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, "new", string(got))
			info, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, tc.perm, info.Mode().Perm())
			require.Equal(t, []string{"file.key"}, dirNames(t, dir), "a temporary file remains")
			if old != nil {
				// The old file was replaced by a rename, not truncated and rewritten in place: a
				// reader that opened it before still sees all of its old contents.
				before, err := os.ReadFile(old.Name())
				require.NoError(t, err)
				require.Equal(t, "new", string(before))
				stale := make([]byte, len(tc.existing)+1)
				n, _ := old.ReadAt(stale, 0)
				require.Equal(t, string(tc.existing), string(stale[:n]))
			}
		})
	}
}

func TestWriteFileAtomicFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{name: "directory missing", setup: func(t *testing.T, path string) {
			t.Helper()
			require.NoError(t, os.Remove(filepath.Dir(path)))
		}},
		{name: "rename fails", setup: func(t *testing.T, path string) {
			t.Helper()
			// A non-empty directory cannot be replaced by a file.
			require.NoError(t, os.MkdirAll(filepath.Join(path, "sub"), 0o700))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "pki")
			require.NoError(t, os.Mkdir(dir, 0o700))
			path := filepath.Join(dir, "file.key")
			tc.setup(t, path)
			before := dirNamesIfExists(t, dir)

			err := pki.WriteFileAtomic(path, []byte("new"), 0o600)
			require.ErrorContains(t, err, path)
			require.Equal(t, before, dirNamesIfExists(t, dir), "a temporary file remains")
		})
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// dirNamesIfExists lists the names in dir, or nil when dir does not exist.
func dirNamesIfExists(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return dirNames(t, dir)
}
