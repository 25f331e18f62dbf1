package pki

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SharedFiles are the names of the files in a PKI directory that every replica of one mesh
// holds alike: the CA and admin pairs, and extra names (e.g. the ServiceAccount signing key)
// that the caller keeps there. Keys are listed before their certificates.
func SharedFiles(extra ...string) []string {
	return append([]string{"ca.key", "ca.crt", "admin.key", "admin.crt"}, extra...)
}

// ReadShared returns the contents of the named files of dir.
func ReadShared(dir string, names []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", n, err)
		}
		out[n] = b
	}
	return out, nil
}

// WriteShared writes files, named as SharedFiles names them, into dir, in the order of names,
// and only those whose contents differ; keys get mode 0600. It reports which it wrote. A name
// outside names is an error, and nothing is written then.
func WriteShared(dir string, names []string, files map[string][]byte) ([]string, error) {
	for n := range files {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("unexpected shared file %q", n)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	var written []string
	for _, n := range names {
		data, ok := files[n]
		if !ok {
			continue
		}
		path := filepath.Join(dir, n)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, ".key") {
			mode = 0o600
		}
		if err := WriteFileAtomic(path, data, mode); err != nil {
			return written, err
		}
		written = append(written, n)
	}
	return written, nil
}
