package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// exampleProvider builds the example Database provider once per test process.
var exampleProvider = sync.OnceValues(func() (string, error) {
	dir, err := framework.TempDir("accountmesh-e2e-provider-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "database")
	cmd := exec.Command("go", "build", "-o", bin, "./sdk/examples/database")
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build the example provider: %w\n%s", err, out)
	}
	return bin, nil
})

// startExampleProvider starts the example provider with the extra flags, logging to logFile,
// and stops it when the test ends.
func startExampleProvider(t *testing.T, bin, kubeconfig, path, logFile string, flags ...string) {
	t.Helper()
	log, err := os.Create(logFile)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", kubeconfig, "--path", path, "--export", "db"}, flags...)...)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("provider log:\n%s", b)
		}
	})
}

// waitForLog waits until a line of the provider's log matches the regular expression re.
func waitForLog(t *testing.T, logFile, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	framework.Eventually(t, 60*time.Second, func(context.Context) (bool, error) {
		b, err := os.ReadFile(logFile)
		return r.Match(b), err
	}, "the provider did not log %s", re)
}

// startDatabaseProvider publishes the example's export db, from the file export of its config
// directory, in a new provider account and runs the example provider against it as alice, an
// admin of that account only; it returns the account and the provider's log file.
func startDatabaseProvider(t *testing.T, export string) (*framework.Account, string) {
	t.Helper()
	bin, err := exampleProvider()
	require.NoError(t, err)
	example := filepath.Join(framework.RepoRoot(), "sdk", "examples", "database")
	prov := server.NewAccount(t, "root")
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(example, "config", "schema-v1.yaml"))
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(example, "config", export))
	framework.Kubectl(t, prov.Kubeconfig, "wait", "apiexport/db", "--for=condition=Ready")
	grantRole(t, prov, "admin", "--user=alice", false)
	providerKubeconfig := server.WriteTokenKubeconfig(t, prov.Path, aliceToken)
	whoamiEventually(t, providerKubeconfig)
	logFile := filepath.Join(t.TempDir(), "provider.log")
	startExampleProvider(t, bin, providerKubeconfig, prov.Path, logFile)
	return prov, logFile
}
