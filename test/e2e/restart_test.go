package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestRestartKeepsEverything restarts a server with embedded etcd on the same root directory,
// gracefully and by crash, and checks that accounts, objects, the CA and the admin credentials
// survive and that the kubeconfig still works.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, err := framework.StartServer(ctx, dir)
	require.NoError(t, err)
	t.Cleanup(s.Stop)

	parent := s.CreateAccount(t, "root", "acme")
	child := s.CreateAccount(t, parent.Path, "team-a")
	for _, acc := range []*framework.Account{parent, child} {
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("cfg", nil, map[string]string{"path": acc.Path}), metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = acc.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	// A CRD and a custom resource in the parent are served again after each restart.
	group := randomGroup()
	applyWidgetCRD(t, parent, group, "")
	framework.KubectlStdin(t, parent.Kubeconfig, widgetYAML(group, "kept", 5), "apply", "-f", "-")
	// The child binds databases from the parent; another provider's databases conflict.
	dbGroup := randomGroup()
	other := s.CreateAccount(t, "root", "other-provider")
	publishDatabases(t, parent, "db", dbGroup, "")
	publishDatabases(t, other, "db", dbGroup, "")
	bind(t, child, "db", parent.Path, "db")
	waitDiscoverable(t, child.Kubeconfig, "databases."+dbGroup)
	framework.KubectlStdin(t, child.Kubeconfig, fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: kept, namespace: default}\nspec: {size: L}\n", dbGroup), "create", "-f", "-")
	rootID := framework.Kubectl(t, s.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}")
	ca, err := os.ReadFile(filepath.Join(dir, "pki", "ca.crt"))
	require.NoError(t, err)
	adminCert, err := os.ReadFile(filepath.Join(dir, "pki", "admin.crt"))
	require.NoError(t, err)

	for _, restart := range []struct {
		name string
		stop func()
	}{
		{"graceful", s.Stop},
		{"crash", s.Kill},
	} {
		restart.stop()
		require.NoError(t, s.Start(ctx), "restart after %s stop", restart.name)

		gotCA, err := os.ReadFile(filepath.Join(dir, "pki", "ca.crt"))
		require.NoError(t, err)
		require.Equal(t, ca, gotCA, "the CA changed across a %s restart", restart.name)
		gotCert, err := os.ReadFile(filepath.Join(dir, "pki", "admin.crt"))
		require.NoError(t, err)
		require.Equal(t, adminCert, gotCert, "the admin certificate changed across a %s restart", restart.name)
		require.Equal(t, rootID, framework.Kubectl(t, s.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}"))

		for _, acc := range []*framework.Account{parent, child} {
			kubeconfig := s.WriteKubeconfig(t, acc.Path)
			require.Equal(t, acc.Path, framework.Kubectl(t, kubeconfig, "get", "configmap", "cfg", "-n", "default", "-o", "jsonpath={.data.path}"))
			require.Equal(t, "v", decodeSecretKey(t, framework.Kubectl(t, kubeconfig, "get", "secret", "s", "-n", "default", "-o", "jsonpath={.data.k}")))
			require.Equal(t, acc.ClusterID, framework.Kubectl(t, kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}"))
			// The cluster ID still addresses the account too.
			byID := s.WriteKubeconfig(t, acc.ClusterID)
			require.Equal(t, acc.Path, framework.Kubectl(t, byID, "get", "accountinfo", "account", "-o", "jsonpath={.spec.path}"))
			// Lists come from the watch cache, which the restart filled from etcd: every
			// account's same-named objects are in it.
			require.Equal(t, "namespace/default", strings.TrimSpace(framework.Kubectl(t, kubeconfig, "get", "namespaces", "-o", "name")))
			require.Contains(t, framework.Kubectl(t, kubeconfig, "get", "clusterrolebindings", "-o", "name"), "clusterrolebinding.rbac.authorization.k8s.io/accountmesh:owner")
		}
		parentConfig := s.WriteKubeconfig(t, parent.Path)
		// Custom resources are served once the server is ready; poll anyway, since the
		// CRD index follows a watch, and log misses.
		attempts := 0
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			attempts++
			out, stderr, err := framework.KubectlResult(t, parentConfig, "", "get", "widget", "kept", "-o", "jsonpath={.spec.size}")
			if err != nil {
				t.Logf("custom resource not served yet after the %s restart (attempt %d): %s", restart.name, attempts, stderr)
			}
			return err == nil && out == "5", nil
		}, "the custom resource is not served after the %s restart", restart.name)
		require.Contains(t, framework.Kubectl(t, parentConfig, "api-resources", "--api-group="+group), "widgets")
		require.NotContains(t, framework.Kubectl(t, s.WriteKubeconfig(t, child.Path), "api-resources"), group)

		// The bound resource is served again, and still owned by its binding: a new binding of
		// the other provider conflicts with it.
		childNow := &framework.Account{Path: child.Path, ClusterID: child.ClusterID, Kubeconfig: s.WriteKubeconfig(t, child.Path)}
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			out, _, err := framework.KubectlResult(t, childNow.Kubeconfig, "", "get", "databases."+dbGroup, "kept", "-o", "jsonpath={.spec.size}")
			return err == nil && out == "L", nil
		}, "the bound resource is not served after the %s restart", restart.name)
		framework.KubectlStdin(t, childNow.Kubeconfig, bindingYAML("other-"+restart.name, other.Path, "db"), "create", "-f", "-")
		require.Contains(t, waitBinding(t, childNow, "other-"+restart.name, "NamingConflicts", "False"), `by APIBinding "db" (a different export)`)

		// The account's URL follows the server to its new port.
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			out, _, err := framework.KubectlResult(t, s.Kubeconfig, "", "get", "account", "acme", "-o", "jsonpath={.status.phase} {.status.url}")
			return err == nil && out == "Ready "+s.URL("root:acme"), nil
		}, "account URL was not updated after restart")

		// The restarted server accepts new accounts and objects.
		fresh := s.NewAccount(t, child.Path)
		framework.Kubectl(t, fresh.Kubeconfig, "create", "configmap", "after-"+restart.name, "-n", "default")
	}
}
