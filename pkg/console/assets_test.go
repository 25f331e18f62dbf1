package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestAssets checks the embedded pages: every module another imports is embedded, the
// modules import one another without a circle, and no script writes markup (server data must
// only ever become text nodes).
func TestAssets(t *testing.T) {
	t.Parallel()
	imports := regexp.MustCompile(`(?m)^import [^;]* from '\./([^']+)';$`)
	graph := map[string][]string{}
	sinks := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "javascript:"}
	scripts := 0
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		scripts++
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		src := string(b)
		for _, s := range sinks {
			if strings.Contains(src, s) {
				t.Errorf("%s uses %s", p, s)
			}
		}
		for _, m := range imports.FindAllStringSubmatch(src, -1) {
			if _, err := fs.Stat(assets, "assets/"+m[1]); err != nil {
				t.Errorf("%s imports %s, which is not embedded: %v", p, m[1], err)
			}
			graph[strings.TrimPrefix(p, "assets/")] = append(graph[strings.TrimPrefix(p, "assets/")], m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := circle(graph); c != nil {
		t.Errorf("the modules import one another in a circle: %s", strings.Join(c, " → "))
	}
	if scripts < 3 {
		t.Fatalf("found %d scripts, want app.js and the pages' modules", scripts)
	}
}

// circle returns a circle of imports in graph (module → the modules it imports), or nil.
func circle(graph map[string][]string) []string {
	const (
		visiting = 1
		done     = 2
	)
	mark := map[string]int{}
	var path []string
	var visit func(m string) []string
	visit = func(m string) []string {
		switch mark[m] {
		case visiting:
			for i, p := range path {
				if p == m {
					return append(append([]string{}, path[i:]...), m)
				}
			}
		case done:
			return nil
		}
		mark[m] = visiting
		path = append(path, m)
		for _, n := range graph[m] {
			if c := visit(n); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		mark[m] = done
		return nil
	}
	for m := range graph {
		if c := visit(m); c != nil {
			return c
		}
	}
	return nil
}

// TestCircle checks that circle finds a circle of imports and only then.
func TestCircle(t *testing.T) {
	t.Parallel()
	if c := circle(map[string][]string{"app.js": {"lib.js", "tree.js"}, "tree.js": {"lib.js"}}); c != nil {
		t.Errorf("circle of a tree = %v, want none", c)
	}
	c := circle(map[string][]string{"app.js": {"tree.js"}, "tree.js": {"lib.js"}, "lib.js": {"app.js"}})
	if len(c) != 4 || c[0] != c[3] {
		t.Errorf("circle = %v, want app.js, tree.js, lib.js in a circle", c)
	}
}
