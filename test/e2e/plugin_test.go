package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// pluginDir builds the kubectl-mesh plugin once per test process and returns the directory
// that holds it, to put on kubectl's PATH.
var pluginDir = sync.OnceValues(func() (string, error) {
	repo := framework.RepoRoot()
	dir, err := framework.TempDir("accountmesh-e2e-plugin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-mesh"), "./cmd/kubectl-mesh")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build kubectl-mesh: %w\n%s", err, out)
	}
	return dir, nil
})

// meshResult runs `kubectl mesh args...` through the real kubectl, with the plugin on the PATH
// and KUBECONFIG set (kubectl refuses flags before a plugin's name), and returns stdout,
// stderr and the error.
func meshResult(t *testing.T, kubeconfig string, args ...string) (string, string, error) {
	t.Helper()
	dir, err := pluginDir()
	require.NoError(t, err)
	cmd := exec.CommandContext(t.Context(), "kubectl", append([]string{"mesh"}, args...)...)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+kubeconfig,
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mesh runs `kubectl mesh args...`, requires it to succeed and returns its stdout.
func mesh(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, errOut, err := meshResult(t, kubeconfig, args...)
	require.NoError(t, err, "kubectl mesh %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

// meshFails runs `kubectl mesh args...`, requires it to exit with code 1 and to say why in one
// line on stderr, and returns that line.
func meshFails(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, errOut, err := meshResult(t, kubeconfig, args...)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "kubectl mesh %s should have failed\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	require.Equal(t, 1, exit.ExitCode())
	require.Regexp(t, `^error: [^\n]+\n$`, errOut, "kubectl mesh %s should print one error line", strings.Join(args, " "))
	return strings.TrimSuffix(errOut, "\n")
}

// pluginKubeconfig returns a private copy of an account's kubeconfig for the plugin to edit.
func pluginKubeconfig(t *testing.T, acc *framework.Account) string {
	t.Helper()
	b, err := os.ReadFile(acc.Kubeconfig)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(file, b, 0o600))
	return file
}

// requireCurrentAccount checks the account the kubeconfig points at, as the plugin and as the
// real kubectl see it.
func requireCurrentAccount(t *testing.T, kubeconfig, path string) {
	t.Helper()
	require.Equal(t, path+"\n", mesh(t, kubeconfig, "current"))
	require.Equal(t, path, framework.Kubectl(t, kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.path}"))
}

// readyLine matches what create prints, with or without an account type.
func readyLine(path string) string {
	return `Account "` + regexp.QuoteMeta(path) + `"( \(type [a-z0-9-]+\))? is ready\.\n`
}

// TestPluginCreateAndUse creates accounts with `kubectl mesh create` and moves between them with
// `kubectl mesh use`: absolute, relative, parent, sibling, previous and root.
func TestPluginCreateAndUse(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	kc := pluginKubeconfig(t, acc)
	teamA, teamB := acc.Path+":team-a", acc.Path+":team-b"

	requireCurrentAccount(t, kc, acc.Path)

	// create waits until the account is Ready and stays in the current account.
	// The type is the parent's (an org's) default child type, so it is allowed.
	out := mesh(t, kc, "create", "team-a", "--type", "account")
	require.Equal(t, fmt.Sprintf("Account %q (type account) is ready.\n", teamA), out)
	got, err := acc.Dynamic.Resource(framework.AccountsGVR).Get(t.Context(), "team-a", metav1.GetOptions{})
	require.NoError(t, err)
	phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
	require.Equal(t, "Ready", phase)
	typ, _, _ := unstructured.NestedString(got.Object, "spec", "type")
	require.Equal(t, "account", typ)
	requireCurrentAccount(t, kc, acc.Path)

	// create --enter switches into the new account.
	out = mesh(t, kc, "create", "team-b", "--display-name", "Team B", "--description", "the b team", "--enter", "--timeout", "2m")
	require.Regexp(t, "^"+readyLine(teamB)+`Current account is "`+regexp.QuoteMeta(teamB)+`"\.\n$`, out)
	got, err = acc.Dynamic.Resource(framework.AccountsGVR).Get(t.Context(), "team-b", metav1.GetOptions{})
	require.NoError(t, err)
	displayName, _, _ := unstructured.NestedString(got.Object, "spec", "displayName")
	require.Equal(t, "Team B", displayName)
	description, _, _ := unstructured.NestedString(got.Object, "spec", "description")
	require.Equal(t, "the b team", description)
	requireCurrentAccount(t, kc, teamB)

	for _, step := range []struct{ arg, want string }{
		{arg: "..", want: acc.Path},
		{arg: "team-a", want: teamA},
		{arg: "../team-b", want: teamB},
		{arg: "-", want: teamA},
		{arg: "-", want: teamB},
		{arg: ":", want: "root"},
		{arg: teamA, want: teamA},
		{arg: "../..", want: "root"},
		{arg: ":" + acc.Path, want: acc.Path},
		{arg: "./team-b", want: teamB},
	} {
		out := mesh(t, kc, "use", step.arg)
		require.Equal(t, fmt.Sprintf("Current account is %q.\n", step.want), out, "use %s", step.arg)
		requireCurrentAccount(t, kc, step.want)
	}

	// The context the kubeconfig started with still points at the original account.
	out = framework.Kubectl(t, kc, "--context", "root", "get", "accountinfo", "account", "-o", "jsonpath={.spec.path}")
	require.Equal(t, acc.Path, out)
}

// TestPluginTree draws account trees with `kubectl mesh tree`, whole and limited by --depth.
func TestPluginTree(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	server.CreateAccount(t, acc.Path, "b")
	server.CreateAccount(t, acc.Path, "a")
	server.CreateAccount(t, acc.Path+":a", "x")
	server.CreateAccount(t, acc.Path+":a", "y")
	server.CreateAccount(t, acc.Path+":a:y", "z")
	kc := pluginKubeconfig(t, acc)

	// node matches one account line: its name, then optional type, then phase.
	node := func(prefix, name string) string {
		return regexp.QuoteMeta(prefix+name) + ` \(([a-z0-9-]+, )?Ready\)\n`
	}
	whole := "^" + regexp.QuoteMeta(acc.Path) + "\n" +
		node("├── ", "a") +
		node("│   ├── ", "x") +
		node("│   └── ", "y") +
		node("│       └── ", "z") +
		node("└── ", "b") + "$"
	require.Regexp(t, whole, mesh(t, kc, "tree"))
	require.Regexp(t, whole, mesh(t, kc, "tree", acc.Path))

	require.Regexp(t, "^"+regexp.QuoteMeta(acc.Path)+"\n"+
		node("├── ", "a")+
		node("└── ", "b")+"$", mesh(t, kc, "tree", "--depth", "1"))
	require.Regexp(t, "^"+regexp.QuoteMeta(acc.Path)+"\n"+
		node("├── ", "a")+
		node("│   ├── ", "x")+
		node("│   └── ", "y")+
		node("└── ", "b")+"$", mesh(t, kc, "tree", "--depth=2"))

	subtree := "^" + regexp.QuoteMeta(acc.Path+":a") + "\n" +
		node("├── ", "x") +
		node("└── ", "y") +
		node("    └── ", "z") + "$"
	require.Regexp(t, subtree, mesh(t, kc, "tree", "a"))
	require.Regexp(t, subtree, mesh(t, kc, "tree", acc.Path+":a"))

	// A leaf has no children; the tree does not change the current account.
	require.Equal(t, acc.Path+":a:x\n", mesh(t, kc, "tree", "a:x"))
	requireCurrentAccount(t, kc, acc.Path)
}

// TestPluginErrors checks that every failure is one clear line on stderr with exit code 1, and
// that a failed switch leaves the kubeconfig alone. No subtest switches successfully, so they
// share one kubeconfig.
func TestPluginErrors(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	kc := pluginKubeconfig(t, acc)

	t.Run("use a missing account", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, fmt.Sprintf("error: account %q not found", acc.Path+":nope"), meshFails(t, kc, "use", acc.Path+":nope"))
		require.Equal(t, fmt.Sprintf("error: account %q not found", acc.Path+":nope"), meshFails(t, kc, "use", "nope"))
		require.Equal(t, fmt.Sprintf("error: account %q not found", "root:nope-"+acc.Name), meshFails(t, kc, "use", "../nope-"+acc.Name))
		requireCurrentAccount(t, kc, acc.Path)
	})
	t.Run("tree of a missing account", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, fmt.Sprintf("error: account %q not found", acc.Path+":nope"), meshFails(t, kc, "tree", "nope"))
	})
	t.Run("bad paths", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "error: no previous account to switch back to", meshFails(t, kc, "use", "-"))
		require.Equal(t, `error: invalid account path "../..": the root account has no parent`, meshFails(t, kc, "use", "../.."))
		require.Contains(t, meshFails(t, kc, "use", "Not_Valid"), `error: invalid account path "Not_Valid"`)
		requireCurrentAccount(t, kc, acc.Path)
	})
	t.Run("create with an invalid name", func(t *testing.T) {
		t.Parallel()
		msg := meshFails(t, kc, "create", "Bad_Name")
		require.Contains(t, msg, `"Bad_Name" is invalid`)
		require.NotContains(t, msg, "failed to create")
		_, err := acc.Dynamic.Resource(framework.AccountsGVR).Get(t.Context(), "Bad_Name", metav1.GetOptions{})
		require.Error(t, err)
	})
	t.Run("create with an unknown type", func(t *testing.T) {
		t.Parallel()
		msg := meshFails(t, kc, "create", "typed", "--type", "no-such-type")
		require.Contains(t, msg, `spec.type`)
		require.Contains(t, msg, `"no-such-type"`)
	})
	t.Run("create an existing account", func(t *testing.T) {
		t.Parallel()
		server.CreateAccount(t, acc.Path, "taken")
		require.Contains(t, meshFails(t, kc, "create", "taken"), `"taken" already exists`)
	})
	t.Run("create times out", func(t *testing.T) {
		t.Parallel()
		path := acc.Path + ":slow"
		msg := meshFails(t, kc, "create", "slow", "--timeout", "1ns")
		require.Regexp(t, `^error: account "`+regexp.QuoteMeta(path)+`" is not ready after 1ns(: .+)?$`, msg)
		// The account was created all the same and becomes Ready.
		server.WaitForAccountReady(t.Context(), t, acc.Path, "slow")
	})
	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		require.Contains(t, meshFails(t, kc, "use"), "error: accepts 1 arg(s), received 0")
		require.Equal(t, "error: --depth must not be negative, got -1", meshFails(t, kc, "tree", "--depth", "-1"))
	})
	t.Run("kubeconfig not pointing at an account", func(t *testing.T) {
		t.Parallel()
		msg := meshFails(t, kc, "current", "--server", server.BaseURL)
		require.Regexp(t, `^error: server URL "[^"]+" is not an Account Mesh account URL`, msg)
	})
}
