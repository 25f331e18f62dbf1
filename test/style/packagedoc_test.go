// Package style holds tests that enforce the project's code conventions.
package style

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryPackageHasAComment walks the module and requires a package comment in every Go
// package, as STYLE.md asks.
func TestEveryPackageHasAComment(t *testing.T) {
	t.Parallel()
	root, files := moduleGoFiles(t)
	documented := map[string]bool{}
	for _, path := range files {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		require.NoError(t, err)
		dir := filepath.Dir(path)
		documented[dir] = documented[dir] || (f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "")
	}
	require.NotEmpty(t, documented)
	for dir, ok := range documented {
		rel, _ := filepath.Rel(root, dir)
		if _, err := os.Stat(dir); err == nil {
			require.True(t, ok, "package %s has no package comment", rel)
		}
	}
}
