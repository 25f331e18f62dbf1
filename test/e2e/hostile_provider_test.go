package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileProvider attacks provider views and bindings from both sides: a provider user
// reaching beyond its export and the claims its consumers accepted, consumers reaching into
// the provider, and forged answers, identities and groups.
func TestHostileProvider(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	p := server.NewAccount(t, "root")
	c1 := server.NewAccount(t, "root")
	c2 := server.NewAccount(t, "root")
	o := server.NewAccount(t, "root")
	publishDatabases(t, p, "db", group, secretsClaimYAML)
	otherHash := publishDatabases(t, p, "other", group, "")
	bind(t, c1, "db", p.Path, "db")
	bind(t, c2, "db", p.Path, "db")
	answerSecretsClaim(t, c1, "db", "Accepted")
	marker := framework.RandomName("unclaimed-")
	_, err := c1.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "labelled", Labels: map[string]string{connectionLabel: "true"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c1.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, StringData: map[string]string{"v": marker}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c1.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("cfg", nil, map[string]string{"v": marker}), metav1.CreateOptions{})
	require.NoError(t, err)

	operator, pia, cora, val, mallory := framework.RandomName("operator-"), framework.RandomName("pia-"), framework.RandomName("cora-"),
		framework.RandomName("val-"), framework.RandomName("mallory-")
	grantContent(t, p, "db", "--user="+operator)
	grantRole(t, p, "admin", "--user="+pia, false)
	grantRole(t, c1, "admin", "--user="+cora, false)
	grantRole(t, c1, "view", "--user="+val, false)
	grantRole(t, o, "admin", "--user="+mallory, false)
	// Consumers in c1 may bind db through their account's reserved group.
	kubectlApply(t, p.Kubeconfig, binderRoleYAML("db-binder", "db"))
	framework.Kubectl(t, p.Kubeconfig, "create", "clusterrolebinding", "c1-binds", "--clusterrole=db-binder", "--group=accountmesh:account:"+c1.Path)

	op, pa, co, va := certActor(t, operator), certActor(t, pia), certActor(t, cora), certActor(t, val)
	ma := certActor(t, mallory, "accountmesh:account:"+c1.Path)
	v := func(export, account string) string {
		return "/services/export/" + p.Path + "/" + export + "/clusters/" + account
	}
	in := func(a *framework.Account) string { return "/clusters/" + a.Path }
	dbs := "/apis/" + group + "/v1/namespaces/default/databases"
	secrets := "/api/v1/namespaces/default/secrets"
	bindings := "/apis/apis.accountmesh.io/v1alpha1/apibindings"
	eventuallyAllowed(t, op, v("db", c1.ClusterID)+secrets)
	eventuallyAllowed(t, pa, in(p)+"/apis/apis.accountmesh.io/v1alpha1/apiexports")
	eventuallyAllowed(t, co, in(c1)+bindings)
	eventuallyAllowed(t, va, in(c1)+bindings)
	eventuallyAllowed(t, ma, in(o)+bindings)
	claim := func(state string) string {
		return `{"spec":{"permissionClaims":[{"group":"","resource":"secrets","verbs":["get","list","watch","create","update","patch","delete"],` +
			`"selector":{"matchLabels":{"` + connectionLabel + `":"true"}},"state":"` + state + `"}]}}`
	}

	hostileTable(t, []attack{
		// R8: content rights on one export are not rights on another.
		{name: "view of another export", as: op, path: v("other", "*") + "/apis/" + group + "/v1/databases", want: 403},
		// R8: bindings are read-only in the view: a provider cannot accept its own claim.
		{name: "accept a claim through the view", as: op, method: http.MethodPatch, path: v("db", c2.ClusterID) + bindings + "/db", header: mergePatch, body: claim("Accepted"), want: 403},
		// R8: nor delete a consumer's binding.
		{name: "delete a binding through the view", as: op, method: http.MethodDelete, path: v("db", c1.ClusterID) + bindings + "/db", want: 403},
		// R8: a secret without the claim's label is not there for the provider, even to label it.
		{name: "label an unclaimed secret", as: op, method: http.MethodPatch, path: v("db", c1.ClusterID) + secrets + "/plain", header: mergePatch,
			body: `{"metadata":{"labels":{"` + connectionLabel + `":"true"}}}`, want: 404},
		// R8: a claimed secret cannot leave the claim.
		{name: "drop the claim label", as: op, method: http.MethodPatch, path: v("db", c1.ClusterID) + secrets + "/labelled", header: mergePatch,
			body: `{"metadata":{"labels":{"` + connectionLabel + `":null}}}`, want: 403},
		// R8: resources neither exported nor claimed.
		{name: "unclaimed configmaps", as: op, path: v("db", c1.ClusterID) + "/api/v1/namespaces/default/configmaps", want: 403},
		// R8: the provider's own APIs are not in the view.
		{name: "apiexports through the view", as: op, path: v("db", c1.ClusterID) + "/apis/apis.accountmesh.io/v1alpha1/apiexports", want: 403},
		// R8: a claim the consumer has not accepted.
		{name: "create where the claim is not accepted", as: op, method: http.MethodPost, path: v("db", c2.ClusterID) + secrets,
			body: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x","labels":{"` + connectionLabel + `":"true"}}}`, want: 403},
		// R8, R9: a selector negating the claim's selects nothing more.
		{name: "negated claim selector", as: op, path: v("db", c1.ClusterID) + secrets + "?labelSelector=" + url.QueryEscape(connectionLabel+"!=true"), want: 200, check: onlyOwn()},
		// R8, R9: nor does a field selector naming an unclaimed secret.
		{name: "field selector for an unclaimed secret", as: op, path: v("db", c1.ClusterID) + secrets + "?fieldSelector=metadata.name%3Dplain", want: 200, check: onlyOwn()},
		// R8, R9: the view's wildcard is read-only.
		{name: "write through the view wildcard", as: op, method: http.MethodPost, path: v("db", "*") + secrets,
			body: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x","labels":{"` + connectionLabel + `":"true"}}}`, want: 405},
		// R8, R1: dot segments from one consumer to another.
		{name: "dot segments between consumers", as: op, path: v("db", c1.ClusterID) + "/../" + c2.ClusterID + dbs, want: 403},
		// R8, R1: dot segments from one export to another.
		{name: "dot segments between exports", as: op, path: "/services/export/" + p.Path + "/db/../other/clusters/*/apis/" + group + "/v1/databases", want: 404},
		// R8: a consumer admin has no rights at the provider's view of her own account.
		{name: "consumer at the view", as: co, path: v("db", c1.ClusterID) + dbs, want: 403},
		// R8, R6: answering claims needs update on the binding.
		{name: "viewer answers a claim", as: va, method: http.MethodPatch, path: in(c1) + bindings + "/db", header: mergePatch, body: claim("Rejected"), want: 403},
		// R8, R4: a certificate naming another account's reserved group does not pass the bind check.
		{name: "bind with a forged account group", as: ma, method: http.MethodPost, path: in(o) + bindings, body: bindingJSON("db", p.Path, "db"), want: 422},
		// R8, R3: the export's identity is the server's: a provider admin cannot take another export's.
		{name: "forge the export identity", as: pa, method: http.MethodPatch, path: in(p) + "/apis/apis.accountmesh.io/v1alpha1/apiexports/db/status", header: mergePatch,
			body: `{"status":{"identityHash":"` + otherHash + `"}}`, want: 403},
		// R8, R3: a consumer admin cannot replace its binding's status.
		{name: "replace the binding status", as: co, method: http.MethodPut, path: in(c1) + bindings + "/db/status",
			body: `{"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"APIBinding","metadata":{"name":"db"},"status":{"identityHash":"` + otherHash + `","phase":"Bound"}}`, want: 403},
		// R8: deletecollection is not among the claim's verbs.
		{name: "delete collection through the view", as: op, method: http.MethodDelete, path: v("db", c1.ClusterID) + secrets, want: 403},
	}, []*framework.Account{p, c1, c2, o}, []string{marker, o.ClusterID})
}

// grantContent gives subject (a kubectl flag: --user=NAME, --serviceaccount=NS:NAME) all verbs
// on apiexports/content of export in the provider account.
func grantContent(t *testing.T, provider *framework.Account, export, subject string) {
	t.Helper()
	kubectlApply(t, provider.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: `+export+`-content}
rules:
- {apiGroups: [apis.accountmesh.io], resources: [apiexports/content], verbs: ["*"], resourceNames: [`+export+`]}
`)
	grantRole(t, provider, export+"-content", subject, false)
}

// bindingJSON is bindingYAML as JSON, for raw requests.
func bindingJSON(name, path, export string) string {
	return `{"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"APIBinding","metadata":{"name":"` + name + `"},"spec":{"reference":{"export":{"path":"` + path + `","name":"` + export + `"}}}}`
}
