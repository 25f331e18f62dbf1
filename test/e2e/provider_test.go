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
// sdk/provider and multicluster-runtime) against the export view of the real server, with the
// example's plain export (config/export-claims.yaml). The provider user is alice, an admin of
// the provider account only. Two consumer accounts bind the export with real kubectl, one accepting the claim on connection Secrets and one
// rejecting it, and each creates the Database "orders": the accepted one becomes Ready with its
// Secret, the rejected one reports SecretClaimRejected and gets no Secret until the consumer
// accepts the claim. The provider's log names each consumer by cluster ID, and unbinding
// disengages the account.
func TestProviderExample(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	example := filepath.Join(framework.RepoRoot(), "sdk", "examples", "database")
	prov, logFile := startDatabaseProvider(t, "export-claims.yaml")

	bindingYAML, err := os.ReadFile(filepath.Join(example, "consumer", "binding-claims.yaml"))
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

// TestProviderExampleManaged runs the example Database provider as a separate process with a
// provider-account ServiceAccount token (content rights on the export, nothing else) for the
// example's default export (config/export.yaml), a Shared managed service. Two consumer
// organisations bind it (one from two accounts) with real kubectl and the example's binding,
// and create the Database "orders": each account's connection Secret lands in its tenant
// space, its password is the customer's credential that the provider keeps in the
// organisation's shadow account (one per organisation, shared by its accounts), and no account
// sees another's. The provider cannot write outside the tenant
// space; deleting a Database removes its Secret and credential. A second provider process with
// --dedicated serves the export as a Dedicated service and reports each organisation's
// ServiceInstance Ready, which the binding shows as InstanceReady.
func TestProviderExampleManaged(t *testing.T) {
	t.Parallel()
	bin, err := exampleProvider()
	require.NoError(t, err)
	ctx := t.Context()
	example := filepath.Join(framework.RepoRoot(), "sdk", "examples", "database")
	managedExport, err := os.ReadFile(filepath.Join(example, "config", "export.yaml"))
	require.NoError(t, err)
	managedBinding, err := os.ReadFile(filepath.Join(example, "consumer", "binding.yaml"))
	require.NoError(t, err)

	// startProvider publishes the export in a new provider account with the model and runs
	// the example provider with a ServiceAccount token of that account.
	startProvider := func(model string, flags ...string) (*framework.Account, string, string) {
		t.Helper()
		prov := server.NewAccount(t, "root")
		framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(example, "config", "schema-v1.yaml"))
		framework.KubectlStdin(t, prov.Kubeconfig, strings.ReplaceAll(string(managedExport), "model: Shared", "model: "+model), "apply", "-f", "-")
		framework.Kubectl(t, prov.Kubeconfig, "wait", "apiexport/db", "--for=condition=Ready")
		grantContent(t, prov, "db", "--serviceaccount=default:db-controller")
		token := serviceAccountToken(t, prov, "db-controller")
		kubeconfig := server.WriteTokenKubeconfig(t, prov.Path, token)
		whoamiEventually(t, kubeconfig)
		logFile := filepath.Join(t.TempDir(), "provider-"+model+".log")
		startExampleProvider(t, bin, kubeconfig, prov.Path, logFile, flags...)
		return prov, token, logFile
	}
	prov, token, logFile := startProvider("Shared")

	o1, o2 := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	a1, b1, a2 := server.NewAccount(t, o1.Path), server.NewAccount(t, o1.Path), server.NewAccount(t, o2.Path)
	consumers := []*framework.Account{a1, b1, a2}
	for _, c := range consumers {
		framework.KubectlStdin(t, c.Kubeconfig, strings.ReplaceAll(string(managedBinding), `"root:prov"`, `"`+prov.Path+`"`), "create", "-f", "-")
		waitBinding(t, c, "db", "ServiceConnected", "True")
		framework.Kubectl(t, c.Kubeconfig, "create", "-f", filepath.Join(example, "consumer", "database.yaml"))
	}
	passwords := map[string]string{}
	for _, c := range consumers {
		framework.Kubectl(t, c.Kubeconfig, "wait", "database/orders", "--for=condition=Ready", "--timeout=60s")
		secrets, err := c.Kube.CoreV1().Secrets("db").List(ctx, metav1.ListOptions{LabelSelector: "db.example.com/connection=true"})
		require.NoError(t, err)
		require.Len(t, secrets.Items, 1, "the account's own connection Secret only")
		require.Equal(t, "default-orders-connection", secrets.Items[0].Name)
		passwords[c.ClusterID] = string(secrets.Items[0].Data["password"])
		require.NotEmpty(t, passwords[c.ClusterID])
		waitForLog(t, logFile, `"Reconciled database" .*cluster="`+c.ClusterID+`" namespace="default" name="orders" ready=true`)
	}
	require.NotEqual(t, passwords[a1.ClusterID], passwords[a2.ClusterID])

	// One shadow account per organisation, holding each of its accounts' credentials.
	require.ElementsMatch(t, []string{
		"consumer-" + o1.ClusterID + "=" + o1.ClusterID + "/shadow",
		"consumer-" + o2.ClusterID + "=" + o2.ClusterID + "/shadow",
	}, shadowAccounts(t, prov))
	shadow1, shadow2 := serviceStatus(t, a1, "db")[0], serviceStatus(t, a2, "db")[0]
	require.Equal(t, shadow1, serviceStatus(t, b1, "db")[0])
	credential := func(shadow string, c *framework.Account) string {
		t.Helper()
		s, err := kubeClient(t, server.ConfigFor(shadow)).CoreV1().Secrets("default").Get(ctx, "customer-"+c.ClusterID, metav1.GetOptions{})
		require.NoError(t, err)
		return string(s.Data["default.orders"])
	}
	require.Equal(t, passwords[a1.ClusterID], credential(shadow1, a1))
	require.Equal(t, passwords[b1.ClusterID], credential(shadow1, b1))
	require.Equal(t, passwords[a2.ClusterID], credential(shadow2, a2))
	_, err = kubeClient(t, server.ConfigFor(shadow2)).CoreV1().Secrets("default").Get(ctx, "customer-"+a1.ClusterID, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "one organisation's credentials in another's shadow account: %v", err)

	// The provider's ServiceAccount writes nothing outside the tenant space.
	sa := tokenActor(t, "db-controller", token)
	view := "/services/export/" + prov.Path + "/db/clusters/" + a1.ClusterID
	code, body := sa.do(t, "POST", view+"/api/v1/namespaces/default/secrets", nil, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`)
	require.Equal(t, 403, code, body)
	code, body = sa.do(t, "POST", view+"/api/v1/namespaces/db/configmaps", nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`)
	require.Equal(t, 403, code, body)

	// Deleting a Database removes its Secret from the tenant space and its credential.
	framework.Kubectl(t, b1.Kubeconfig, "delete", "database/orders", "--timeout=60s")
	framework.Eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := b1.Kube.CoreV1().Secrets("db").Get(ctx, "default-orders-connection", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "the connection secret outlived its database")
	require.Empty(t, credential(shadow1, b1))
	require.Equal(t, passwords[a1.ClusterID], credential(shadow1, a1))

	// Dedicated: the provider deploys an instance per organisation (bound from another account
	// of o2: one account serves databases.db.example.com from one export only).
	dprov, _, dlog := startProvider("Dedicated", "--dedicated")
	c2 := server.NewAccount(t, o2.Path)
	framework.KubectlStdin(t, c2.Kubeconfig, bindingYAML("db", dprov.Path, "db"), "create", "-f", "-")
	msg := waitBinding(t, c2, "db", "InstanceReady", "True Deployed:")
	require.Contains(t, msg, "."+o2.ClusterID+".dedicated.db.example.com")
	waitForLog(t, dlog, `"Deployed dedicated instance" .*cluster="`+c2.ClusterID+`" organization="`+o2.ClusterID+`"`)
	dshadowID, dshadow := serviceStatus(t, c2, "db")[0], serviceStatus(t, c2, "db")[1]
	framework.Eventually(t, time.Minute, func(context.Context) (bool, error) {
		return framework.Kubectl(t, server.WriteKubeconfig(t, dshadow), "get", "serviceinstance", "db", "-o", "jsonpath={.metadata.finalizers}") == `["db.example.com/dedicated-instance"]`, nil
	}, "the provider did not hold its instance with a finalizer")

	// The organisation's last unbinding deletes the shadow account: its ServiceInstance goes
	// first, torn down by the provider while the account's content is still there, then the
	// account.
	framework.Kubectl(t, c2.Kubeconfig, "delete", "apibinding", "db", "--timeout=60s")
	waitForLog(t, dlog, `"Tore down dedicated instance" shadowAccount="`+dshadowID+`" organization="`+o2.ClusterID+`"`)
	framework.Eventually(t, time.Minute, func(context.Context) (bool, error) {
		return len(shadowAccounts(t, dprov)) == 0, nil
	}, "the shadow account outlived its organisation's last binding")
}
