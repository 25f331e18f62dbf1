package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// consoleBindingJSON is the JSON of an APIBinding name of the export providerPath/export, with the
// plan and every claim accepted, as the console's bind form sends it.
func consoleBindingJSON(name, providerPath, export, plan string) string {
	return fmt.Sprintf(`{"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"APIBinding","metadata":{"name":%q},`+
		`"spec":{"reference":{"export":{"path":%q,"name":%q}},"plan":%q,"permissionClaims":[{"group":"","resource":"configmaps",`+
		`"verbs":["get","list"],"selector":{"matchLabels":{"db.example.com/connection":"true"}},"state":"Accepted"}]}}`, name, providerPath, export, plan)
}

// statusOf decodes a Status answer.
func statusOf(t *testing.T, body string) metav1.Status {
	t.Helper()
	var s metav1.Status
	require.NoError(t, json.Unmarshal([]byte(body), &s), body)
	return s
}

// requireBindRefused checks that the API refused a binding with its bind check: 422 with the
// field error Forbidden on spec.reference.export, as it answers kubectl.
func requireBindRefused(t *testing.T, r consoleResponse) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
	s := statusOf(t, r.body)
	require.NotNil(t, s.Details, r.body)
	require.Len(t, s.Details.Causes, 1, r.body)
	require.Equal(t, metav1.CauseType("FieldValueForbidden"), s.Details.Causes[0].Type, r.body)
	require.Equal(t, "spec.reference.export", s.Details.Causes[0].Field, r.body)
}

// TestHostileConsoleMarketplace attacks the console's marketplace and bind (R48 of
// docs/security.md): they act only as the signed-in user. A user without bind on an export
// gets through the console exactly the refusal kubectl gets with the same token (422,
// spec.reference.export: Forbidden), and nothing is bound; an export the user may not bind
// cannot be bound by crafting the request the bind form sends (the same refusal as for one
// that does not exist); another account's marketplace, entries and bindings are 403 as for an account that
// does not exist, and a private entry reads as one that never was.
func TestHostileConsoleMarketplace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newConsoleMarket(t)
	mine := m.mine
	theirs := server.NewAccount(t, "root")
	bind(t, theirs, "theirs", m.priv.Path, "db")
	// bob is admin of mine, a ServiceAccount without bind on any export.
	framework.Kubectl(t, mine.Kubeconfig, "create", "serviceaccount", "bob")
	bobToken := strings.TrimSpace(framework.Kubectl(t, mine.Kubeconfig, "create", "token", "bob"))
	grantRole(t, mine, "admin", "--serviceaccount=default:bob", false)
	bobKC := server.WriteTokenKubeconfig(t, mine.Path, bobToken)
	whoamiEventually(t, bobKC)

	b := newConsoleBrowser(t)
	alice, aliceCSRF := b.signIn(t, aliceToken, mine.Path)
	bob, bobCSRF := b.signIn(t, bobToken, mine.Path)
	bindings := "/apis/apis.accountmesh.io/v1alpha1/apibindings"
	entries := "/apis/marketplace.accountmesh.io/v1alpha1/marketplaceentries"
	notBound := func(t *testing.T, acc *framework.Account, name string) {
		t.Helper()
		_, err := acc.Dynamic.Resource(bindingsGVR).Get(ctx, name, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%s was bound: %v", name, err)
	}

	t.Run("bind without the right", func(t *testing.T) {
		// R48: bob's marketplace does not list the export, and binding it through the console is the
		// refusal of the API for his token, word for word.
		r := b.do(t, http.MethodGet, consoleAPI(mine.Path, entries), bob, http.Header{"X-Csrf-Token": {bobCSRF}}, "")
		require.Equal(t, http.StatusOK, r.code, r.body)
		require.NotContains(t, r.body, m.pub.Path)
		r = b.do(t, http.MethodPost, consoleAPI(mine.Path, bindings), bob, writeHeaders(bobCSRF), consoleBindingJSON("db", m.pub.Path, "db", "pro"))
		requireBindRefused(t, r)
		notBound(t, mine, "db")

		cfg, err := clientcmd.BuildConfigFromFlags("", bobKC)
		require.NoError(t, err)
		var body map[string]interface{}
		require.NoError(t, json.Unmarshal([]byte(consoleBindingJSON("db", m.pub.Path, "db", "pro")), &body))
		_, err = dynamicClient(t, cfg).Resource(bindingsGVR).Create(ctx, &unstructured.Unstructured{Object: body}, metav1.CreateOptions{})
		var direct *apierrors.StatusError
		require.ErrorAs(t, err, &direct)
		require.Equal(t, direct.ErrStatus.Message, statusOf(t, r.body).Message, "the console's refusal differs from the API's")
		require.Equal(t, direct.ErrStatus.Reason, statusOf(t, r.body).Reason)
		require.Equal(t, direct.ErrStatus.Code, int32(r.code))
		out := framework.KubectlFails(t, bobKC, consoleBindingJSON("db", m.pub.Path, "db", "pro"), "create", "-f", "-")
		cause := statusOf(t, r.body).Details.Causes[0]
		require.Contains(t, out, cause.Field+": "+cause.Message)
		notBound(t, mine, "db")
	})

	t.Run("bind what the marketplace does not list", func(t *testing.T) {
		// R48: alice crafts the bind form's request for the private export, and for one that does
		// not exist: the same refusal, nothing about the private account.
		priv := b.do(t, http.MethodPost, consoleAPI(mine.Path, bindings), alice, writeHeaders(aliceCSRF), consoleBindingJSON("priv", m.priv.Path, "db", "basic"))
		absentPath := "root:" + framework.RandomName("absent-")
		absent := b.do(t, http.MethodPost, consoleAPI(mine.Path, bindings), alice, writeHeaders(aliceCSRF), consoleBindingJSON("priv", absentPath, "db", "basic"))
		requireBindRefused(t, priv)
		requireBindRefused(t, absent)
		require.Equal(t, strings.ReplaceAll(priv.body, m.priv.Path, "X"), strings.ReplaceAll(absent.body, absentPath, "X"))
		require.NotContains(t, priv.body, m.priv.ClusterID)
		notBound(t, mine, "priv")
	})

	t.Run("a private entry by name", func(t *testing.T) {
		// R48: editing the entry's name in the URL: 404, as for a name that never was.
		privName, neverName := marketplace.EntryName(clusterIDOf(m.priv), "db"), "db-0123456789"
		priv := b.do(t, http.MethodGet, consoleAPI(mine.Path, entries+"/"+privName), alice, http.Header{"X-Csrf-Token": {aliceCSRF}}, "")
		never := b.do(t, http.MethodGet, consoleAPI(mine.Path, entries+"/"+neverName), alice, http.Header{"X-Csrf-Token": {aliceCSRF}}, "")
		require.Equal(t, http.StatusNotFound, priv.code, priv.body)
		require.Equal(t, strings.ReplaceAll(never.body, neverName, "X"), strings.ReplaceAll(priv.body, privName, "X"))
		require.NotContains(t, priv.body, m.priv.Path)
	})

	t.Run("another account", func(t *testing.T) {
		// R48: another account's marketplace, an entry there, its bindings, binding into it and
		// unbinding its binding: 403 as for an account that does not exist, nothing done.
		absent := "root:" + framework.RandomName("absent-")
		pubName := marketplace.EntryName(clusterIDOf(m.pub), "db")
		for _, c := range []struct{ method, path, body string }{
			{http.MethodGet, entries, ""},
			{http.MethodGet, entries + "/" + pubName, ""},
			{http.MethodGet, entries + "?watch=1", ""},
			{http.MethodGet, bindings, ""},
			{http.MethodGet, bindings + "/theirs", ""},
			{http.MethodPost, bindings, consoleBindingJSON("planted", m.pub.Path, "db", "pro")},
			{http.MethodDelete, bindings + "/theirs", ""},
			{http.MethodGet, "/apis/orchestration.accountmesh.io/v1alpha1/orchestrationcontexts", ""},
		} {
			r := b.do(t, c.method, consoleAPI(theirs.Path, c.path), alice, writeHeaders(aliceCSRF), c.body)
			a := b.do(t, c.method, consoleAPI(absent, c.path), alice, writeHeaders(aliceCSRF), c.body)
			require.Equal(t, http.StatusForbidden, r.code, "%s %s: %s", c.method, c.path, r.body)
			require.Equal(t, http.StatusForbidden, a.code, "%s %s: %s", c.method, c.path, a.body)
			require.NotContains(t, r.body, theirs.ClusterID)
			require.Equal(t, strings.ReplaceAll(r.body, theirs.Path, "X"), strings.ReplaceAll(a.body, absent, "X"), "%s %s", c.method, c.path)
		}
		notBound(t, theirs, "planted")
		_, err := theirs.Dynamic.Resource(bindingsGVR).Get(ctx, "theirs", metav1.GetOptions{})
		require.NoError(t, err, "alice unbound another account's binding")
	})
}
