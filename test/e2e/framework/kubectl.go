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

// KubectlResult runs kubectl and returns stdout, stderr and the error.
func KubectlResult(t testing.TB, kubeconfig, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
