// Package version says which Account Mesh a binary is: a semantic version of the Kubernetes API
// level it serves (the pinned k8s.io modules) with Account Mesh's own version as pre-release,
// e.g. v1.37.2-accountmesh.0.3.0, its commit and its build date. `make build` sets them through
// ldflags; other builds (go install, go build, go run) read them from the build information Go
// embeds. The server reports them at /version, the commands with `version`.
//
// It must not import the server: clients report their version too.
package version

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	apimachineryversion "k8s.io/apimachinery/pkg/version"
)

// Set by make build with -ldflags "-X github.com/accountmesh/accountmesh/pkg/version.<name>=...".
var (
	// version is Account Mesh's version, e.g. 0.3.0 or a git describe.
	version string
	// commit is the full git commit.
	commit string
	// buildDate is the build time in RFC 3339, UTC.
	buildDate string
	// treeState is "clean" or "dirty".
	treeState string
)

// apiModule is the module whose version is the Kubernetes API level: v0.x.y serves Kubernetes
// v1.x.y.
const apiModule = "k8s.io/apiserver"

// fallbackAPILevel is the Kubernetes API level when the build information is missing.
const fallbackAPILevel = "v1.37.2"

// unsafeIdentifier matches what a semantic version's pre-release may not hold.
var unsafeIdentifier = regexp.MustCompile(`[^0-9A-Za-z.-]+`)

// Get returns the version of this binary.
func Get() apimachineryversion.Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi, version, commit, buildDate, treeState)
}

// get derives the version from the build information and what ldflags set; ldflags win.
func get(bi *debug.BuildInfo, version, commit, buildDate, treeState string) apimachineryversion.Info {
	level := fallbackAPILevel
	if bi != nil {
		for _, dep := range bi.Deps {
			if dep.Path == apiModule && strings.HasPrefix(dep.Version, "v0.") {
				level = "v1." + strings.TrimPrefix(dep.Version, "v0.")
				break
			}
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		if commit == "" {
			commit = settings["vcs.revision"]
		}
		if buildDate == "" {
			buildDate = settings["vcs.time"]
		}
		if treeState == "" {
			switch settings["vcs.modified"] {
			case "true":
				treeState = "dirty"
			case "false":
				treeState = "clean"
			}
		}
	}
	if version == "" {
		version = "dev"
		if len(commit) >= 12 {
			version += ".g" + commit[:12]
		}
	}
	major, minor, _ := strings.Cut(strings.TrimPrefix(level, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	return apimachineryversion.Info{
		Major:        major,
		Minor:        minor,
		GitVersion:   level + "-accountmesh." + preRelease(version),
		GitCommit:    commit,
		GitTreeState: treeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}

// preRelease turns a version (v0.3.0, 0.3.0-2-gabc, a module pseudo-version with +incompatible)
// into dot-separated pre-release identifiers: no leading v, no build metadata, nothing outside
// [0-9A-Za-z-], no empty identifier and no numeric one with a leading zero.
func preRelease(v string) string {
	v, _, _ = strings.Cut(strings.TrimPrefix(v, "v"), "+")
	v = unsafeIdentifier.ReplaceAllString(v, "-")
	parts := strings.Split(v, ".")
	out := parts[:0]
	for _, p := range parts {
		switch {
		case p == "":
			continue
		case len(p) > 1 && p[0] == '0' && strings.Trim(p, "0123456789") == "":
			p = "g" + p
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return "dev"
	}
	return strings.Join(out, ".")
}
