package framework

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Kubectl runs the real kubectl with a kubeconfig and returns its stdout, failing the test if it
// fails.
func Kubectl(t testing.TB, kubeconfig string, args ...string) string {
	t.Helper()
	out, errOut, err := KubectlResult(t, kubeconfig, "", args...)
	require.NoError(t, err, "kubectl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

// KubectlStdin runs kubectl with stdin and returns its stdout, failing the test if it fails.
func KubectlStdin(t testing.TB, kubeconfig, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := KubectlResult(t, kubeconfig, stdin, args...)
	require.NoError(t, err, "kubectl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

// KubectlFails runs kubectl, requires it to fail, and returns its stderr.
func KubectlFails(t testing.TB, kubeconfig, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := KubectlResult(t, kubeconfig, stdin, args...)
	require.Error(t, err, "kubectl %s should have failed\nstdout: %s", strings.Join(args, " "), out)
	return errOut
}

// KubectlResult runs kubectl and returns stdout, stderr and the error. kubectl's discovery
// cache lives next to the kubeconfig: the shared one in the home directory is keyed by server
// URL, and test servers reuse ports and account paths across runs, so a stale entry could send
// kubectl to a group that the account no longer serves.
func KubectlResult(t testing.TB, kubeconfig, stdin string, args ...string) (string, string, error) {
	t.Helper()
	flags := []string{"--kubeconfig", kubeconfig, "--cache-dir", kubeconfig + ".cache"}
	cmd := exec.CommandContext(t.Context(), "kubectl", append(flags, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
