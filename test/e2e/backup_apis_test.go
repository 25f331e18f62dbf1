package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestBackupAPIs backs up an organisation with a CRD, a provider account with an export, a
// consumer account bound to it and a binding of the top account to an export outside the
// subtree, with objects of each. Restored under another name, the copy's export has a new
// identity, the consumer's binding names the copy's provider, the outside binding reconnects,
// and a backup of the copy equals the original object for object; deleted and restored in
// place, the subtree is back the same. In both, the bound APIs serve the restored objects.
func TestBackupAPIs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	outside := server.NewAccount(t, "root")
	outGroup := "out-" + outside.Name + ".example.com"
	outsideHash := publishDatabases(t, outside, "db", outGroup, "")

	top := server.NewAccount(t, "root")
	provider := server.CreateAccount(t, top.Path, "provider")
	consumer := server.CreateAccount(t, top.Path, "consumer")
	inGroup := "in-" + top.Name + ".example.com"
	insideHash := publishDatabases(t, provider, "db", inGroup, "")
	applyWidgetCRD(t, top, "backup-apis.example.com", "")
	framework.KubectlStdin(t, top.Kubeconfig, "apiVersion: backup-apis.example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\nspec: {size: 3}\n", "create", "-f", "-")
	bind(t, top, "outside", outside.Path, "db")
	bind(t, consumer, "inside", provider.Path, "db")
	waitDiscoverable(t, top.Kubeconfig, "databases."+outGroup)
	waitDiscoverable(t, consumer.Kubeconfig, "databases."+inGroup)
	framework.KubectlStdin(t, top.Kubeconfig, "apiVersion: "+outGroup+"/v1\nkind: Database\nmetadata: {name: orders, namespace: default}\nspec: {size: M}\n", "create", "-f", "-")
	framework.KubectlStdin(t, consumer.Kubeconfig, "apiVersion: "+inGroup+"/v1\nkind: Database\nmetadata: {name: users, namespace: default}\nspec: {size: S}\n", "create", "-f", "-")

	bin, err := framework.Binary()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "backup.tar.gz")
	stdout, err := exec.CommandContext(ctx, bin, "backup", "--kubeconfig", server.Kubeconfig, "--account", top.Path, "--out", out).CombinedOutput()
	require.NoError(t, err, "%s", stdout)
	m, files := readBackup(t, out)
	require.Len(t, m.Accounts, 3)

	// served checks that the restored subtree at path serves the restored objects through its
	// bindings, and that the export of its provider has a new identity, not notHash.
	served := func(path, notHash string) {
		t.Helper()
		topCfg := server.WriteKubeconfig(t, path)
		consumerCfg := server.WriteKubeconfig(t, path+":consumer")
		providerCfg := server.WriteKubeconfig(t, path+":provider")
		require.Equal(t, "M", framework.Kubectl(t, topCfg, "get", "databases."+outGroup, "orders", "-n", "default", "-o", "jsonpath={.spec.size}"))
		require.Equal(t, "S", framework.Kubectl(t, consumerCfg, "get", "databases."+inGroup, "users", "-n", "default", "-o", "jsonpath={.spec.size}"))
		require.Equal(t, "3", framework.Kubectl(t, topCfg, "get", "widgets.backup-apis.example.com", "w", "-n", "default", "-o", "jsonpath={.spec.size}"))
		require.Equal(t, outsideHash, framework.Kubectl(t, topCfg, "get", "apibinding", "outside", "-o", "jsonpath={.status.identityHash}"))
		hash := framework.Kubectl(t, providerCfg, "get", "apiexport", "db", "-o", "jsonpath={.status.identityHash}")
		require.Len(t, hash, 32)
		require.NotEqual(t, notHash, hash, "the restored export has the original's identity")
		require.Equal(t, hash, framework.Kubectl(t, consumerCfg, "get", "apibinding", "inside", "-o", "jsonpath={.status.identityHash}"))
		require.Equal(t, path+":provider", framework.Kubectl(t, consumerCfg, "get", "apibinding", "inside", "-o", "jsonpath={.spec.reference.export.path}"))
		// The restored binding is usable: a new object is stored and listed.
		framework.KubectlStdin(t, consumerCfg, "apiVersion: "+inGroup+"/v1\nkind: Database\nmetadata: {name: after, namespace: default}\n", "create", "-f", "-")
		framework.Kubectl(t, consumerCfg, "delete", "databases."+inGroup, "after", "-n", "default")
	}

	copyName := framework.RandomName("e2e-copy-")
	printed := restoreAndCompare(t, bin, out, copyName, m, files)
	require.Contains(t, printed, "not restored: Secret default/db-identity in "+provider.Path+": an export's identity key")
	require.NotContains(t, printed, "APIBinding", "a binding was not restored")
	require.NotContains(t, printed, "Database", "a bound object was not restored")
	served("root:"+copyName, insideHash)

	// Deleted, and restored in place: the same paths, bound APIs usable again.
	deleteRootAccount(t, top.Name)
	printed = restoreAndCompare(t, bin, out, top.Name, m, files)
	require.NotContains(t, printed, "APIBinding", "a binding was not restored")
	served(top.Path, insideHash)

	// The outside export gone, a restore reports the binding and its objects, and restores
	// the rest.
	framework.Kubectl(t, outside.Kubeconfig, "delete", "apiexport", "db")
	gone := framework.RandomName("e2e-gone-")
	stdout, err = exec.CommandContext(ctx, bin, "restore", "--kubeconfig", server.Kubeconfig, "--from", out, "--into", "root", "--name", gone).CombinedOutput()
	require.NoError(t, err, "%s", stdout)
	require.Contains(t, string(stdout), `not restored: APIBinding outside in `+top.Path+`: APIExport "db" not found in "`+outside.Path+`"`)
	require.Contains(t, string(stdout), "not restored: Database default/orders in "+top.Path+": served by a binding that was not restored")
	goneCfg := server.WriteKubeconfig(t, "root:"+gone)
	require.Empty(t, framework.Kubectl(t, goneCfg, "get", "apibindings", "-o", "name"), "the binding that could not bind was left")
	require.Equal(t, "S", framework.Kubectl(t, server.WriteKubeconfig(t, "root:"+gone+":consumer"), "get", "databases."+inGroup, "users", "-n", "default", "-o", "jsonpath={.spec.size}"))
	require.False(t, strings.Contains(string(stdout), "Widget"), "the custom resource was not restored: %s", stdout)
}

// TestBackupManagedService backs up an organisation with a provider of a Shared managed
// service and a consumer connected to it, with a Secret written back into the consumer's
// tenant space and the provider's state in the organisation's shadow account. Restored under
// another name, the consumer's binding connects again: the platform makes a new shadow
// account for the copy and the tenant space again, and the Secret is restored into it; the
// original shadow account, the platform's, is reported with its objects.
func TestBackupManagedService(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	top := server.NewAccount(t, "root")
	provider := server.CreateAccount(t, top.Path, "provider")
	consumer := server.CreateAccount(t, top.Path, "consumer")
	publishDatabases(t, provider, "db", group, sharedServiceYAML)
	bind(t, consumer, "db", provider.Path, "db")
	waitBinding(t, consumer, "db", "ServiceConnected", "True")
	shadows := shadowAccounts(t, provider)
	require.Len(t, shadows, 1)
	shadow, _, _ := strings.Cut(shadows[0], "=")
	framework.Kubectl(t, server.WriteKubeconfig(t, provider.Path+":"+shadow), "create", "configmap", "state", "--from-literal=a=1")
	framework.Kubectl(t, consumer.Kubeconfig, "create", "secret", "generic", "conn", "-n", "db", "--from-literal=password=s3cret")

	bin, err := framework.Binary()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "backup.tar.gz")
	stdout, err := exec.CommandContext(ctx, bin, "backup", "--kubeconfig", server.Kubeconfig, "--account", top.Path, "--out", out).CombinedOutput()
	require.NoError(t, err, "%s", stdout)
	require.Contains(t, string(stdout), "backed up 4 accounts")

	copyName := framework.RandomName("e2e-copy-")
	stdout, err = exec.CommandContext(ctx, bin, "restore", "--kubeconfig", server.Kubeconfig, "--from", out, "--into", "root", "--name", copyName).CombinedOutput()
	require.NoError(t, err, "%s", stdout)
	require.Contains(t, string(stdout), "not restored: Account "+shadow+" in "+provider.Path+": a shadow account")
	require.Contains(t, string(stdout), "objects of "+provider.Path+":"+shadow+": its account was not restored")
	require.NotContains(t, string(stdout), "APIBinding", "the binding was not restored")
	require.NotContains(t, string(stdout), "conn", "the Secret of the tenant space was not restored")

	copyTop := server.WaitForAccountReady(ctx, t, "root", copyName)
	copyConsumer := server.WaitForAccountReady(ctx, t, copyTop.Path, "consumer")
	copyProvider := server.WaitForAccountReady(ctx, t, copyTop.Path, "provider")
	waitBinding(t, copyConsumer, "db", "ServiceConnected", "True")
	require.Equal(t, copyProvider.Path, framework.Kubectl(t, copyConsumer.Kubeconfig, "get", "apibinding", "db", "-o", "jsonpath={.spec.reference.export.path}"))
	status := serviceStatus(t, copyConsumer, "db")
	require.Equal(t, "db", status[2], "the binding has no tenant space")
	require.True(t, strings.HasPrefix(status[1], copyProvider.Path+":"), "the shadow account %s is not in the copy's provider", status[1])
	require.Equal(t, "czNjcmV0", framework.Kubectl(t, copyConsumer.Kubeconfig, "get", "secret", "conn", "-n", "db", "-o", "jsonpath={.data.password}"), "the Secret of the tenant space")
	require.Equal(t, "db", framework.Kubectl(t, copyConsumer.Kubeconfig, "get", "namespace", "db", "-o", `jsonpath={.metadata.labels.accountmesh\.io/tenant-space}`))
}
