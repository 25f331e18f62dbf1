package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestAssets checks the embedded pages: every module another imports is embedded, and no
// script writes markup (server data must only ever become text nodes).
func TestAssets(t *testing.T) {
	t.Parallel()
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';$`)
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
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scripts < 3 {
		t.Fatalf("found %d scripts, want app.js and the pages' modules", scripts)
	}
}
