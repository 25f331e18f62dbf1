package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// connectionLabel is the label the secrets claim of the view tests selects.
const connectionLabel = "db.example.com/connection"

// secretsClaimYAML is a permission claim on labelled secrets, as dbExportYAML's claims.
const secretsClaimYAML = `  permissionClaims:
  - {group: "", resource: secrets, verbs: [get, list, watch, create, update, patch, delete], selector: {matchLabels: {` + connectionLabel + `: "true"}}}
`

// answerSecretsClaim sets the consumer's answer to the secrets claim of its binding name.
func answerSecretsClaim(t *testing.T, consumer *framework.Account, name, state string) {
	t.Helper()
	framework.Kubectl(t, consumer.Kubeconfig, "patch", "apibinding", name, "--type=merge", "-p",
		`{"spec":{"permissionClaims":[{"group":"","resource":"secrets","verbs":["get","list","watch","create","update","patch","delete"],`+
			`"selector":{"matchLabels":{"`+connectionLabel+`":"true"}},"state":"`+state+`"}]}}`)
	want := ""
	if state == "Accepted" {
		want = "secrets"
	}
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "apibinding", name, "-o", "jsonpath={.status.appliedPermissionClaims[*].resource}")
		return err == nil && out == want, nil
	}, "the secrets claim of %s is not applied as %s", name, state)
}

// viewConfig returns cfg pointed at the provider view of export in provider, at account (a
// cluster ID, "*", or anything else).
func viewConfig(cfg *rest.Config, provider *framework.Account, export, account string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Host = server.BaseURL + "/services/export/" + provider.Path + "/" + export + "/clusters/" + account
	return c
}

// viewClients returns dynamic and typed clients for the view at account.
func viewClients(t *testing.T, cfg *rest.Config, provider *framework.Account, account string) (dynamic.Interface, kubernetes.Interface) {
	t.Helper()
	c := viewConfig(cfg, provider, "db", account)
	dyn, err := dynamic.NewForConfig(c)
	require.NoError(t, err)
	kube, err := kubernetes.NewForConfig(c)
	require.NoError(t, err)
	return dyn, kube
}

func itemNames(items []unstructured.Unstructured) []string {
	names := make([]string, 0, len(items))
	for _, i := range items {
		names = append(names, i.GetName())
	}
	slices.Sort(names)
	return names
}

// requireWatchEnds waits until the watch's result channel closes.
func requireWatchEnds(t *testing.T, w watch.Interface, what string) {
	t.Helper()
	timeout := time.After(bindTimeout)
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("the %s watch did not end", what)
		}
	}
}

// TestAPIsView exercises the provider view with client-go as a provider user who holds admin
// (and so apiexports/content) in the provider account: the wildcard shows the export's
// consumers only, accounts are addressed by cluster ID only, writes land in the consumer
// account, discovery feeds controller-runtime's REST mapper, and the secrets claim is enforced
// by label and acceptance, and revoked at once.
func TestAPIsView(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	other := server.NewAccount(t, "root")
	c1 := server.NewAccount(t, "root")
	c2 := server.NewAccount(t, "root")
	local := server.NewAccount(t, "root")
	otherConsumer := server.NewAccount(t, "root")

	publishDatabases(t, provider, "db", group, secretsClaimYAML)
	publishDatabases(t, other, "db", group, "")
	bind(t, c1, "db", provider.Path, "db")
	bind(t, c2, "db", provider.Path, "db")
	bind(t, otherConsumer, "db", other.Path, "db")
	framework.KubectlStdin(t, local.Kubeconfig, crdYAML(group, "databases", "{plural: databases, singular: database, kind: Database}", "", `    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`), "apply", "-f", "-")
	waitEstablished(t, local.Kubeconfig, "databases."+group)
	for a, name := range map[*framework.Account]string{c1: "one", c2: "two", local: "three", otherConsumer: "four"} {
		waitDiscoverable(t, a.Kubeconfig, "databases."+group)
		framework.KubectlStdin(t, a.Kubeconfig, "apiVersion: "+group+"/v1\nkind: Database\nmetadata: {name: "+name+", namespace: default}\nspec: {}\n", "create", "-f", "-")
	}

	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "operator-admin", "--clusterrole=admin", "--user=operator")
	operator := userConfig(t, provider.Path, "operator")
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "databases"}

	// The wildcard lists the export's consumers, not a local CRD of the same name nor another
	// provider's consumers; apibindings are the export's.
	all, _ := viewClients(t, operator, provider, "*")
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		list, err := all.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return slices.Equal(itemNames(list.Items), []string{"one", "two"}), nil
	}, "the wildcard view does not list exactly the consumers' databases")
	bindings, err := all.Resource(schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apibindings"}).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, bindings.Items, 2, "the bindings of the export only")
	_, err = all.Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "resources neither exported nor claimed: %v", err)

	// An export without consumers has an empty view, served from its schema alone.
	publishDatabases(t, other, "unbound", group, "")
	empty, err := dynamic.NewForConfig(viewConfig(other.Config, other, "unbound", "*"))
	require.NoError(t, err)
	list, err := empty.Resource(gvr).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, list.Items)

	// Without apiexports/content in the provider account: 403.
	nobody, _ := viewClients(t, userConfig(t, provider.Path, "nobody"), provider, "*")
	_, err = nobody.Resource(gvr).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "without a content grant: %v", err)

	// Accounts by cluster ID only: a path, an unbound account and another provider's consumer
	// all get the 404 of an unknown account.
	for what, account := range map[string]string{"path": c1.Path, "unbound": local.ClusterID, "other provider's consumer": otherConsumer.ClusterID, "unknown": "zzzzzzzzzzzzzzzz"} {
		dyn, _ := viewClients(t, operator, provider, account)
		_, err := dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		require.True(t, apierrors.IsNotFound(err), "%s: %v", what, err)
		require.Equal(t, `account "`+account+`" not found`, err.Error(), what)
	}

	// A write through the view lands in the consumer account.
	one, oneKube := viewClients(t, operator, provider, c1.ClusterID)
	got, err := one.Resource(gvr).Namespace("default").Get(ctx, "one", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "postgres", got.Object["spec"].(map[string]interface{})["engine"])
	_, err = one.Resource(gvr).Namespace("default").Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": group + "/v1", "kind": "Database", "metadata": map[string]interface{}{"name": "from-provider"}, "spec": map[string]interface{}{"size": "M"},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "M", framework.Kubectl(t, c1.Kubeconfig, "get", "databases."+group, "from-provider", "-o", "jsonpath={.spec.size}"))
	_, err = one.Resource(gvr).Namespace("default").Get(ctx, "two", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "another consumer's object: %v", err)

	// Discovery in the view feeds controller-runtime's REST mapper: the exported resource,
	// apibindings and the claimed secrets, and no other built-in group.
	viewCfg := viewConfig(operator, provider, "db", c1.ClusterID)
	httpClient, err := rest.HTTPClientFor(viewCfg)
	require.NoError(t, err)
	mapper, err := apiutil.NewDynamicRESTMapper(viewCfg, httpClient)
	require.NoError(t, err)
	m, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: "Database"}, "v1")
	require.NoError(t, err)
	require.Equal(t, gvr, m.Resource)
	m, err = mapper.RESTMapping(schema.GroupKind{Group: "apis.accountmesh.io", Kind: "APIBinding"})
	require.NoError(t, err)
	require.Equal(t, "apibindings", m.Resource.Resource)
	disc, err := discovery.NewDiscoveryClientForConfig(viewCfg)
	require.NoError(t, err)
	groups, err := disc.ServerGroups()
	require.NoError(t, err)
	var names []string
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	require.Contains(t, names, group)
	require.NotContains(t, names, "rbac.authorization.k8s.io")

	// Secrets: the claim is not accepted in c1, so 403 there.
	_, err = oneKube.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "claim not accepted: %v", err)

	// c2 accepts the claim: the view shows labelled secrets only, and writes must keep the label.
	answerSecretsClaim(t, c2, "db", "Accepted")
	labelled := map[string]string{connectionLabel: "true"}
	for name, l := range map[string]map[string]string{"labelled": labelled, "plain": nil} {
		_, err := c2.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = c1.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c1-labelled", Labels: labelled}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, twoKube := viewClients(t, operator, provider, c2.ClusterID)
	secrets, err := twoKube.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, secrets.Items, 1)
	require.Equal(t, "labelled", secrets.Items[0].Name)
	_, err = twoKube.CoreV1().Secrets("default").Get(ctx, "plain", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "unlabelled secret: %v", err)
	_, err = twoKube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled"}}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "creating an unlabelled secret: %v", err)
	_, err = twoKube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "from-provider", Labels: labelled},
		StringData: map[string]string{"url": "postgres://db"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "true", framework.Kubectl(t, c2.Kubeconfig, "get", "secret", "from-provider", "-o", "jsonpath={.metadata.labels.db\\.example\\.com/connection}"))
	_, allKube := viewClients(t, operator, provider, "*")
	secrets, err = allKube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var secretNames []string
	for _, s := range secrets.Items {
		secretNames = append(secretNames, s.Name)
	}
	slices.Sort(secretNames)
	require.Equal(t, []string{"from-provider", "labelled"}, secretNames, "labelled secrets of accounts that accepted the claim")

	// Rejecting the claim ends open watches in the account and across accounts; the next list
	// is forbidden.
	inAccount, err := twoKube.CoreV1().Secrets("default").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer inAccount.Stop()
	across, err := allKube.CoreV1().Secrets("").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer across.Stop()
	answerSecretsClaim(t, c2, "db", "Rejected")
	requireWatchEnds(t, inAccount, "account's")
	requireWatchEnds(t, across, "cross-account")
	_, err = twoKube.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "after rejection: %v", err)
	secrets, err = allKube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, secrets.Items, "no account applies the claim any more")

	// The export moves to a v2 schema: the wildcard still shows every consumer's objects,
	// stored in v1 or v2 (one storage prefix for all schema versions).
	kubectlApply(t, provider.Kubeconfig, dbSchemaYAML("v2", group, ""))
	kubectlApply(t, provider.Kubeconfig, dbExportYAML("db", group, "v2.databases."+group, secretsClaimYAML))
	for _, c := range []*framework.Account{c1, c2} {
		framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
			out, _, err := framework.KubectlResult(t, c.Kubeconfig, "", "get", "apibinding", "db", "-o", "jsonpath={.status.boundResources[0].storageVersions}")
			return err == nil && out == `["v1","v2"]`, nil
		}, "the binding of %s does not move to v2", c.Path)
	}
	framework.KubectlStdin(t, c2.Kubeconfig, "apiVersion: "+group+"/v2\nkind: Database\nmetadata: {name: two-v2, namespace: default}\nspec: {}\n", "create", "-f", "-")
	v2 := schema.GroupVersionResource{Group: group, Version: "v2", Resource: "databases"}
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		list, err := all.Resource(v2).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return slices.Equal(itemNames(list.Items), []string{"from-provider", "one", "two", "two-v2"}), nil
	}, "the wildcard view does not list the consumers' databases of both versions")
}
