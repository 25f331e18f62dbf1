package style

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/accountmesh/accountmesh"

// importRule forbids packages under From to import, directly or through other packages of the
// module, any package under Forbidden.
type importRule struct {
	From      string
	Forbidden []string
}

// controllersDoNotServe: controllers are API clients; they see what the server serves only
// through interfaces wired in pkg/server (DESIGN.md, layout).
var controllersDoNotServe = importRule{
	From:      module + "/pkg/reconciler",
	Forbidden: []string{module + "/pkg/dynamic", module + "/pkg/storage", module + "/pkg/registry", module + "/pkg/server"},
}

// TestControllersDoNotImportServingPackages checks controllersDoNotServe on the module's
// non-test Go files.
func TestControllersDoNotImportServingPackages(t *testing.T) {
	t.Parallel()
	graph := moduleImports(t)
	require.Contains(t, graph, controllersDoNotServe.From+"/account", "the import graph holds the controllers")
	require.Empty(t, controllersDoNotServe.violations(graph))
}

func TestImportRule(t *testing.T) {
	t.Parallel()
	rule := importRule{From: "m/pkg/reconciler", Forbidden: []string{"m/pkg/dynamic", "m/pkg/server"}}
	tests := []struct {
		name  string
		graph map[string][]string
		want  []string
	}{
		{name: "allowed imports", graph: map[string][]string{
			"m/pkg/reconciler/a": {"m/pkg/client", "k8s.io/client-go/dynamic"},
			"m/pkg/client":       {"m/pkg/cluster"},
		}},
		{name: "direct import", graph: map[string][]string{
			"m/pkg/reconciler/a": {"m/pkg/dynamic"},
		}, want: []string{"m/pkg/reconciler/a -> m/pkg/dynamic"}},
		{name: "subpackage of a forbidden package", graph: map[string][]string{
			"m/pkg/reconciler/a": {"m/pkg/server/filters"},
		}, want: []string{"m/pkg/reconciler/a -> m/pkg/server/filters"}},
		{name: "transitive import", graph: map[string][]string{
			"m/pkg/reconciler/a/b": {"m/pkg/authentication"},
			"m/pkg/authentication": {"m/pkg/client", "m/pkg/dynamic"},
		}, want: []string{"m/pkg/reconciler/a/b -> m/pkg/authentication -> m/pkg/dynamic"}},
		{name: "a prefix of the name is not the package", graph: map[string][]string{
			"m/pkg/reconciler/a": {"m/pkg/dynamicfoo", "m/pkg/servers"},
			"m/pkg/reconcilers":  {"m/pkg/dynamic"},
		}},
		{name: "import cycles end", graph: map[string][]string{
			"m/pkg/reconciler/a": {"m/pkg/x"},
			"m/pkg/x":            {"m/pkg/y"},
			"m/pkg/y":            {"m/pkg/x"},
		}},
		{name: "forbidden packages may import controllers", graph: map[string][]string{
			"m/pkg/server":       {"m/pkg/reconciler/a"},
			"m/pkg/reconciler/a": {"m/pkg/client"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, rule.violations(tc.graph))
		})
	}
}

// violations returns, sorted, one import path from each package under r.From to each forbidden
// package it reaches.
func (r importRule) violations(graph map[string][]string) []string {
	under := func(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
	var out []string
	for pkg := range graph {
		if !under(pkg, r.From) {
			continue
		}
		// Breadth first, so that each reported path is a shortest one.
		via := map[string]string{pkg: ""}
		queue := []string{pkg}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, imp := range graph[cur] {
				if _, seen := via[imp]; seen {
					continue
				}
				via[imp] = cur
				if slices.ContainsFunc(r.Forbidden, func(f string) bool { return under(imp, f) }) {
					path := []string{imp}
					for p := cur; p != ""; p = via[p] {
						path = append([]string{p}, path...)
					}
					out = append(out, strings.Join(path, " -> "))
					continue
				}
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(out)
	return out
}

// moduleImports returns the imports of every package of the module, from its non-test Go
// files, by import path.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	root, files := moduleGoFiles(t)
	graph := map[string][]string{}
	for _, path := range files {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		require.NoError(t, err)
		rel, err := filepath.Rel(root, filepath.Dir(path))
		require.NoError(t, err)
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			if !slices.Contains(graph[pkg], p) {
				graph[pkg] = append(graph[pkg], p)
			}
		}
	}
	return graph
}
