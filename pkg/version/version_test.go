package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
	utilversion "k8s.io/apimachinery/pkg/util/version"
)

func TestGet(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/accountmesh/accountmesh", Version: "(devel)"},
		Deps: []*debug.Module{{Path: "k8s.io/apiserver", Version: "v0.37.2"}},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-03T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/accountmesh/accountmesh", Version: "v0.4.1-0.20261203100000-0123456789ab+incompatible"},
		Deps: []*debug.Module{{Path: "k8s.io/apiserver", Version: "v0.38.0"}},
	}
	for _, tc := range []struct {
		name                              string
		bi                                *debug.BuildInfo
		version, commit, date, tree       string
		wantGit, wantCommit, wantDate     string
		wantTree, wantMajor, wantMinorVer string
	}{
		{name: "make build", bi: vcs, version: "0.3.0-5-g1a2b3c4-dirty", commit: "1a2b3c4d", date: "2026-12-01T00:00:00Z", tree: "clean",
			wantGit: "v1.37.2-accountmesh.0.3.0-5-g1a2b3c4-dirty", wantCommit: "1a2b3c4d", wantDate: "2026-12-01T00:00:00Z", wantTree: "clean", wantMajor: "1", wantMinorVer: "37"},
		{name: "go build in a checkout", bi: vcs,
			wantGit: "v1.37.2-accountmesh.dev.g0123456789ab", wantCommit: "0123456789abcdef0123456789abcdef01234567", wantDate: "2026-12-03T10:00:00Z", wantTree: "dirty", wantMajor: "1", wantMinorVer: "37"},
		{name: "go install of a module version", bi: installed,
			wantGit: "v1.38.0-accountmesh.0.4.1-0.20261203100000-0123456789ab", wantMajor: "1", wantMinorVer: "38"},
		{name: "no build information", wantGit: "v1.37.2-accountmesh.dev", wantMajor: "1", wantMinorVer: "37"},
		{name: "leading zeros and odd characters", bi: vcs, version: "v01.2_3..4", commit: "c", date: "d",
			wantGit: "v1.37.2-accountmesh.g01.2-3.4", wantCommit: "c", wantDate: "d", wantTree: "dirty", wantMajor: "1", wantMinorVer: "37"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := get(tc.bi, tc.version, tc.commit, tc.date, tc.tree)
			require.Equal(t, tc.wantGit, got.GitVersion)
			require.Equal(t, tc.wantCommit, got.GitCommit)
			require.Equal(t, tc.wantDate, got.BuildDate)
			require.Equal(t, tc.wantTree, got.GitTreeState)
			require.Equal(t, tc.wantMajor, got.Major)
			require.Equal(t, tc.wantMinorVer, got.Minor)
			_, err := utilversion.ParseSemantic(got.GitVersion)
			require.NoError(t, err, "a semantic version")
		})
	}
}
