package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileManagedService attacks managed services from both sides: a consumer labelling or
// creating its way into a tenant space or a shadow account, or reaching its organisation's
// shadow account; a provider writing outside its tenant spaces or other resources than its
// related ones, or re-marking a shadow account.
func TestHostileManagedService(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	p, c1, c2 := server.NewAccount(t, "root"), server.NewAccount(t, "root"), server.NewAccount(t, "root")
	publishDatabases(t, p, "db", group, sharedServiceYAML)
	for _, c := range []*framework.Account{c1, c2} {
		bind(t, c, "db", p.Path, "db")
		waitBinding(t, c, "db", "ServiceConnected", "True")
	}
	marker := framework.RandomName("private-")
	_, err := c1.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "own"}, StringData: map[string]string{"v": marker}}, metav1.CreateOptions{})
	require.NoError(t, err)
	shadow := serviceStatus(t, c1, "db")[1]

	operator, pia, cora := framework.RandomName("operator-"), framework.RandomName("pia-"), framework.RandomName("cora-")
	grantContent(t, p, "db", "--user="+operator)
	grantRole(t, p, "admin", "--user="+pia, false)
	grantRole(t, c1, "admin", "--user="+cora, false)
	op, pa, co := certActor(t, operator), certActor(t, pia), certActor(t, cora)
	v := func(account string) string { return "/services/export/" + p.Path + "/db/clusters/" + account }
	in := func(path string) string { return "/clusters/" + path }
	eventuallyAllowed(t, op, v(c1.ClusterID)+"/api/v1/namespaces/db/secrets")
	eventuallyAllowed(t, pa, in(p.Path)+"/apis/core.accountmesh.io/v1alpha1/accounts")
	eventuallyAllowed(t, co, in(c1.Path)+"/api/v1/namespaces")

	// R23: the provider's controller reaches the shadow accounts with a provider ServiceAccount
	// token while it holds content rights on an export they serve; a consumer's or another
	// provider's ServiceAccount of the same name never does.
	p2 := server.NewAccount(t, "root")
	grantContent(t, p, "db", "--serviceaccount=default:ctrl")
	grantRole(t, c1, "admin", "--serviceaccount=default:ctrl", false)
	grantRole(t, p2, "admin", "--serviceaccount=default:ctrl", false)
	ctrl := tokenActor(t, "provider-sa", serviceAccountToken(t, p, "ctrl"))
	idle := tokenActor(t, "provider-sa-without-content", serviceAccountToken(t, p, "idle"))
	consumerSA := tokenActor(t, "consumer-sa", serviceAccountToken(t, c1, "ctrl"))
	otherSA := tokenActor(t, "other-provider-sa", serviceAccountToken(t, p2, "ctrl"))
	eventuallyAllowed(t, ctrl, in(shadow)+"/api/v1/namespaces/default/secrets")
	eventuallyAllowed(t, op, in(shadow)+"/api/v1/namespaces/default/secrets")
	eventuallyAllowed(t, consumerSA, in(c1.Path)+"/api/v1/namespaces")
	eventuallyAllowed(t, otherSA, in(p2.Path)+"/api/v1/namespaces")
	absentShadow := in(p.Path+":consumer-nothere0000000000") + "/api/v1/namespaces/default/secrets"

	secret := func(name string) string {
		return `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"` + name + `"},"stringData":{"url":"postgres://x"}}`
	}
	accounts := "/apis/core.accountmesh.io/v1alpha1/accounts"
	hostileTable(t, []attack{
		// R20: only the platform labels tenant spaces: not a new namespace,
		{name: "create a namespace labelled as a tenant space", as: co, method: http.MethodPost, path: in(c1.Path) + "/api/v1/namespaces",
			body: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"fake","labels":{"accountmesh.io/tenant-space":"db"}}}`, want: 422},
		// R20: nor an existing one,
		{name: "label default as a tenant space", as: co, method: http.MethodPatch, path: in(c1.Path) + "/api/v1/namespaces/default", header: mergePatch,
			body: `{"metadata":{"labels":{"accountmesh.io/tenant-space":"db"}}}`, want: 422},
		// R20: and a tenant space cannot be handed to another binding.
		{name: "relabel the tenant space", as: co, method: http.MethodPatch, path: in(c1.Path) + "/api/v1/namespaces/db", header: mergePatch,
			body: `{"metadata":{"labels":{"accountmesh.io/tenant-space":"other"}}}`, want: 422},
		// R20: nor through the status subresource (which admin does not hold; the registry
		// refuses the label there too).
		{name: "relabel the tenant space through status", as: co, method: http.MethodPatch, path: in(c1.Path) + "/api/v1/namespaces/db/status", header: mergePatch,
			body: `{"metadata":{"labels":{"accountmesh.io/tenant-space":null}}}`, want: 403},
		// R21: a user cannot create a shadow account,
		{name: "create a shadow account", as: co, method: http.MethodPost, path: in(c1.Path) + accounts,
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"sh"},"spec":{"type":"shadow"}}`, want: 422},
		// R21: nor make an account look like one,
		{name: "create an account marked as a shadow", as: co, method: http.MethodPost, path: in(c1.Path) + accounts,
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"sh","labels":{"accountmesh.io/consumer-org":"` + c1.ClusterID + `"}}}`, want: 422},
		// R21: nor re-mark the provider's shadow account, even as the provider's admin.
		{name: "provider re-marks a shadow account", as: pa, method: http.MethodPatch, path: in(p.Path) + accounts + "/consumer-" + c1.ClusterID, header: mergePatch,
			body: `{"metadata":{"labels":{"accountmesh.io/consumer-org":"` + c2.ClusterID + `"}}}`, want: 422},
		{name: "provider rewrites a shadow account's exports", as: pa, method: http.MethodPatch, path: in(p.Path) + accounts + "/consumer-" + c1.ClusterID, header: mergePatch,
			body: `{"metadata":{"annotations":{"accountmesh.io/service-exports":"other"}}}`, want: 422},
		// R21: the consumer has no access to its organisation's shadow account.
		{name: "consumer reads its shadow account", as: co, path: in(shadow) + "/api/v1/namespaces", want: 403,
			absent: in(p.Path+":consumer-nothere0000000000") + "/api/v1/namespaces", absentName: "consumer-nothere0000000000", presentName: "consumer-" + c1.ClusterID},
		// R23: a consumer's ServiceAccount token does not reach its shadow account (as an unknown
		// token, whether the account exists or not),
		{name: "consumer ServiceAccount in the shadow account", as: consumerSA, path: in(shadow) + "/api/v1/namespaces/default/secrets", want: 401,
			absent: absentShadow, absentName: "consumer-nothere0000000000", presentName: shadow},
		// R23: nor another provider's,
		{name: "other provider's ServiceAccount in the shadow account", as: otherSA, path: in(shadow) + "/api/v1/namespaces/default/secrets", want: 401,
			absent: absentShadow, absentName: "consumer-nothere0000000000", presentName: shadow},
		// R23: a provider ServiceAccount without content rights holds nothing there,
		{name: "provider ServiceAccount without content rights", as: idle, path: in(shadow) + "/api/v1/namespaces/default/secrets", want: 403},
		// R23: and the one with content rights reaches no other account below the provider's
		// but its shadow accounts, nor the consumer's.
		{name: "provider ServiceAccount in the consumer account", as: ctrl, path: in(c1.Path) + "/api/v1/namespaces/default/secrets", want: 401},
		{name: "provider ServiceAccount in root", as: ctrl, path: in("root") + "/api/v1/namespaces/default/secrets", want: 401},
		// R32: nobody but the platform creates a ServiceInstance, not even the shadow
		// account's admins,
		{name: "provider creates a ServiceInstance", as: ctrl, method: http.MethodPost, path: in(shadow) + "/apis/apis.accountmesh.io/v1alpha1/serviceinstances",
			body: `{"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"ServiceInstance","metadata":{"name":"db"},"spec":{"consumer":{"path":"x","clusterID":"x"},"export":"db"}}`, want: 422},
		// R32: and the consumer reads none.
		{name: "consumer lists ServiceInstances", as: co, path: in(shadow) + "/apis/apis.accountmesh.io/v1alpha1/serviceinstances", want: 403},
		// R22: the provider writes only in the tenant space: not in another namespace,
		{name: "provider writes outside the tenant space", as: op, method: http.MethodPost, path: v(c1.ClusterID) + "/api/v1/namespaces/default/secrets", body: secret("x"), want: 403,
			absent: v(c1.ClusterID) + "/api/v1/namespaces/nothere/secrets", absentName: "nothere", presentName: "default"},
		// R22: nor reads there,
		{name: "provider reads outside the tenant space", as: op, path: v(c1.ClusterID) + "/api/v1/namespaces/default/secrets/own", want: 403},
		// R22: nor across the account's namespaces,
		{name: "provider lists the account's secrets", as: op, path: v(c1.ClusterID) + "/api/v1/secrets", want: 403},
		// R22: nor other resources than its related ones in the tenant space,
		{name: "provider writes a configmap in the tenant space", as: op, method: http.MethodPost, path: v(c1.ClusterID) + "/api/v1/namespaces/db/configmaps",
			body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, want: 403},
		// R22: nor subresources of them,
		{name: "provider names a secret subresource", as: op, path: v(c1.ClusterID) + "/api/v1/namespaces/db/secrets/x/status", want: 403},
		// R22: and the wildcard is read-only and holds tenant spaces only.
		{name: "provider writes at the view wildcard", as: op, method: http.MethodPost, path: v("*") + "/api/v1/namespaces/db/secrets", body: secret("x"), want: 405},
		{name: "provider lists secrets at the wildcard", as: op, path: v("*") + "/api/v1/secrets", want: 200, check: onlyOwn()},
	}, []*framework.Account{p, c1, c2}, []string{marker})

	// R23: what the provider's ServiceAccount and its content holders may do in the shadow
	// account: keep the customer's state there, as admins.
	code, body := ctrl.do(t, http.MethodPost, in(shadow)+"/api/v1/namespaces/default/secrets", nil, secret("customer-creds"))
	require.Equal(t, http.StatusCreated, code, body)
	code, body = op.do(t, http.MethodGet, in(shadow)+"/api/v1/namespaces/default/secrets/customer-creds", nil, "")
	require.Equal(t, http.StatusOK, code, body)

	// What the provider may do: write its related resources in each tenant space, which the
	// wildcard then shows, and nothing of the consumers' own.
	for _, c := range []*framework.Account{c1, c2} {
		code, body := op.do(t, http.MethodPost, v(c.ClusterID)+"/api/v1/namespaces/db/secrets", nil, secret("conn"))
		require.Equal(t, http.StatusCreated, code, body)
		code, body = op.do(t, http.MethodPatch, v(c.ClusterID)+"/api/v1/namespaces/db/secrets/conn", mergePatch, `{"stringData":{"user":"u"}}`)
		require.Equal(t, http.StatusOK, code, body)
	}
	code, body = op.do(t, http.MethodGet, v("*")+"/api/v1/secrets", nil, "")
	require.Equal(t, http.StatusOK, code, body)
	onlyOwn("db/conn", "db/conn")(t, body)
	require.NotContains(t, body, marker)
	got, err := c2.Kube.CoreV1().Secrets("db").Get(ctx, "conn", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "u", string(got.Data["user"]))
	code, body = op.do(t, http.MethodDelete, v(c1.ClusterID)+"/api/v1/namespaces/db/secrets/conn", nil, "")
	require.Equal(t, http.StatusOK, code, body)
}
