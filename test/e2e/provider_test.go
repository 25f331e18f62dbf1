package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestProviderExample runs the example Database provider (sdk/examples/database, built on
// sdk/provider and multicluster-runtime) against the export view of the real server. The
// provider user is alice, an admin of the provider account only. Two consumer accounts bind
// the export with real kubectl, one accepting the claim on connection Secrets and one
// rejecting it, and each creates the Database "orders": the accepted one becomes Ready with its
// Secret, the rejected one reports SecretClaimRejected and gets no Secret until the consumer
// accepts the claim. The provider's log names each consumer by cluster ID, and unbinding
// disengages the account.
func TestProviderExample(t *testing.T) {
	t.Parallel()
	bin, err := exampleProvider()
	require.NoError(t, err)
	ctx := t.Context()
	example := filepath.Join(framework.RepoRoot(), "sdk", "examples", "database")

	prov := server.NewAccount(t, "root")
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(example, "config", "schema-v1.yaml"))
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(example, "config", "export.yaml"))
	framework.Kubectl(t, prov.Kubeconfig, "wait", "apiexport/db", "--for=condition=Ready")
	grantRole(t, prov, "admin", "--user=alice", false)
	providerKubeconfig := server.WriteTokenKubeconfig(t, prov.Path, aliceToken)
	whoamiEventually(t, providerKubeconfig)
	logFile := filepath.Join(t.TempDir(), "provider.log")
	startExampleProvider(t, bin, providerKubeconfig, prov.Path, logFile)

	bindingYAML, err := os.ReadFile(filepath.Join(example, "consumer", "binding.yaml"))
	require.NoError(t, err)
	bind := func(acc *framework.Account, state string) {
		t.Helper()
		y := strings.ReplaceAll(string(bindingYAML), `"root:prov"`, `"`+prov.Path+`"`)
		y = strings.ReplaceAll(y, "state: Accepted", "state: "+state)
		framework.KubectlStdin(t, acc.Kubeconfig, y, "apply", "-f", "-")
	}
	accepted, rejected := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	bind(accepted, "Accepted")
	bind(rejected, "Rejected")
	for _, acc := range []*framework.Account{accepted, rejected} {
		framework.Kubectl(t, acc.Kubeconfig, "wait", "apibinding/db", "--for=jsonpath={.status.phase}=Bound", "--timeout=60s")
		framework.Kubectl(t, acc.Kubeconfig, "create", "-f", filepath.Join(example, "consumer", "database.yaml"))
	}

	// Accepted: Ready, endpoint, and the connection Secret beside the Database.
	framework.Kubectl(t, accepted.Kubeconfig, "wait", "database/orders", "--for=condition=Ready", "--timeout=60s")
	require.Equal(t, "orders.default.db.example.com:5432", framework.Kubectl(t, accepted.Kubeconfig, "get", "database/orders", "-o", "jsonpath={.status.endpoint}"))
	require.Regexp(t, `(?m)^orders\s+postgres\s+True\s`, framework.Kubectl(t, accepted.Kubeconfig, "get", "databases", "--no-headers"))
	secret, err := accepted.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "true", secret.Labels["db.example.com/connection"])
	require.Equal(t, framework.Kubectl(t, accepted.Kubeconfig, "get", "database/orders", "-o", "jsonpath={.metadata.uid}"), string(secret.OwnerReferences[0].UID))
	require.Equal(t, "5432", string(secret.Data["port"]))
	require.NotEmpty(t, secret.Data["password"])
	waitForLog(t, logFile, `"Reconciled database" .*cluster="`+accepted.ClusterID+`" namespace="default" name="orders" ready=true`)

	// Rejected: Ready=False SecretClaimRejected, and no Secret.
	framework.Kubectl(t, rejected.Kubeconfig, "wait", "database/orders", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=SecretClaimRejected", "--timeout=60s")
	_, err = rejected.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "no secret without the claim, got %v", err)
	waitForLog(t, logFile, `"Reconciled database" .*cluster="`+rejected.ClusterID+`" namespace="default" name="orders" ready=false`)

	// Accepting the claim later makes it Ready, with its own account's Secret.
	bind(rejected, "Accepted")
	framework.Kubectl(t, rejected.Kubeconfig, "wait", "database/orders", "--for=condition=Ready", "--timeout=60s")
	secret, err = rejected.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, framework.Kubectl(t, rejected.Kubeconfig, "get", "database/orders", "-o", "jsonpath={.metadata.uid}"), string(secret.OwnerReferences[0].UID))

	// Deleting a Database deletes its connection Secret.
	framework.Kubectl(t, rejected.Kubeconfig, "delete", "database/orders", "--timeout=60s")
	framework.Eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := rejected.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "the connection secret outlived its database")

	// Unbinding removes the account's Databases and disengages the account.
	// The provider's finalizer runs first: the account's Secret goes with its Database.
	framework.Kubectl(t, accepted.Kubeconfig, "delete", "apibinding/db", "--timeout=60s")
	waitForLog(t, logFile, `"Disengaged account" .*cluster="`+accepted.ClusterID+`"`)
	_, err = accepted.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the connection secret outlived the binding: %v", err)
}
