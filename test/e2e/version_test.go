package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestVersion reads /version inside an account, with client-go and kubectl: a semantic version
// of the Kubernetes API level with Account Mesh's version as pre-release, the commit the
// server was built from and its build date.
func TestVersion(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	dc, err := discovery.NewDiscoveryClientForConfig(acc.Config)
	require.NoError(t, err)
	info, err := dc.ServerVersion()
	require.NoError(t, err)
	v, err := utilversion.ParseSemantic(info.GitVersion)
	require.NoError(t, err, "gitVersion %q", info.GitVersion)
	require.Equal(t, uint(1), v.Major())
	require.Equal(t, info.Minor, strings.TrimSuffix(info.Minor, "+"))
	require.Equal(t, info.Minor, strconv.Itoa(int(v.Minor())), "minor matches gitVersion")
	require.True(t, strings.HasPrefix(v.PreRelease(), "accountmesh."), "pre-release %q", v.PreRelease())
	require.Regexp(t, `^[0-9a-f]{40}$`, info.GitCommit)
	built, err := time.Parse(time.RFC3339, info.BuildDate)
	require.NoError(t, err)
	require.True(t, built.After(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), "build date %s", built)

	out := framework.Kubectl(t, acc.Kubeconfig, "version", "-o", "json")
	require.Contains(t, out, `"gitVersion": "`+info.GitVersion+`"`)
}
