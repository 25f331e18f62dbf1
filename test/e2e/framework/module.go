package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	modulesMu sync.Mutex
	modules   = map[string]string{}
)

// ModuleFile returns the path of a file inside a Go module version, downloaded through the
// module proxy (or found in the module cache) the first time. Tests use it to load real-world
// manifests, such as CRDs, from the projects that publish them instead of copying them.
func ModuleFile(t testing.TB, module, version, path string) string {
	t.Helper()
	dir, err := moduleDir(module + "@" + version)
	if err != nil {
		t.Fatalf("failed to download %s@%s: %v", module, version, err)
	}
	file := filepath.Join(dir, filepath.FromSlash(path))
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("module %s@%s has no %s: %v", module, version, path, err)
	}
	return file
}

func moduleDir(modVersion string) (string, error) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if dir, ok := modules[modVersion]; ok {
		return dir, nil
	}
	// Run outside any module, so that the repository's go.mod and go.sum stay untouched.
	tmp, err := os.MkdirTemp("", "accountmesh-e2e-mod-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	cmd := exec.Command("go", "mod", "download", "-json", modVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	if jerr := json.Unmarshal(out, &info); jerr != nil {
		return "", fmt.Errorf("go mod download: %w", errors.Join(jerr, err))
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download: %s", info.Error)
	}
	modules[modVersion] = info.Dir
	return info.Dir, nil
}
