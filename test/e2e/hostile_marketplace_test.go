package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileMarketplace attacks the marketplace and plans: a tenant outside an organisation,
// with forged organisation groups in her certificate, looking for exports she may not bind (by
// list, selectors, name, watch and plans), across accounts and through the wildcard, and
// writing entries; a team member looking at another team's bindings.
func TestHostileMarketplace(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	org := server.NewAccount(t, "root")
	team1, team2 := server.NewAccount(t, org.Path), server.NewAccount(t, org.Path)
	o := server.NewAccount(t, "root")
	m := newMarketplaceProviders(t, group, org)
	framework.KubectlStdin(t, team1.Kubeconfig, plannedBindingYAML("team1-secret-binding", m.pub.Path, "db", "pro"), "create", "-f", "-")

	alice, mallory := framework.RandomName("alice-"), framework.RandomName("mallory-")
	grantRole(t, org, "edit", "--user="+alice, true)
	grantRole(t, o, "admin", "--user="+mallory, false)
	al := certActor(t, alice, m.everyone)
	ma := certActor(t, mallory, m.everyone, "accountmesh:subtree:"+org.Path, "accountmesh:account:"+team1.Path)
	in := func(a *framework.Account) string { return "/clusters/" + a.Path }
	entries := "/apis/marketplace.accountmesh.io/v1alpha1/marketplaceentries"
	bindings := "/apis/apis.accountmesh.io/v1alpha1/apibindings"
	privEntry, subEntry, pubEntry := marketplace.EntryName(clusterIDOf(m.priv), "db"), marketplace.EntryName(clusterIDOf(m.sub), "db"),
		marketplace.EntryName(clusterIDOf(m.pub), "db")
	eventuallyAllowed(t, ma, in(o)+entries)
	eventuallyAllowed(t, al, in(team2)+entries)
	notHers := func(t *testing.T, body string) {
		t.Helper()
		require.NotContains(t, body, subEntry, "an export opened to an organisation she is not in")
		require.NotContains(t, body, m.sub.Path)
	}

	hostileTable(t, []attack{
		// R33: the list holds what she may bind, whatever groups her certificate claims.
		{name: "list with forged organisation groups", as: ma, path: in(o) + entries, want: 200, check: func(t *testing.T, body string) {
			t.Helper()
			notHers(t, body)
			require.Contains(t, body, pubEntry)
		}},
		// R33: a private export's entry reads like a name that never was.
		{name: "get a private entry", as: ma, path: in(o) + entries + "/" + privEntry, want: 404,
			absent: in(o) + entries + "/db-0000000000", absentName: "db-0000000000", presentName: privEntry},
		{name: "get an organisation's entry", as: ma, path: in(o) + entries + "/" + subEntry, want: 404,
			absent: in(o) + entries + "/db-1111111111", absentName: "db-1111111111", presentName: subEntry},
		// R33: selectors select among what she may see only.
		{name: "field selector on a private entry", as: ma, path: in(o) + entries + "?fieldSelector=metadata.name%3D" + privEntry, want: 200, check: onlyOwn()},
		{name: "category selector", as: ma, path: in(o) + entries + "?labelSelector=category.accountmesh.io%2F" + m.category, want: 200,
			check: onlyOwn("/" + pubEntry)},
		// R33: a watch starts with, and carries, nothing else.
		{name: "watch", as: ma, path: in(o) + entries + "?watch=1&timeoutSeconds=1", want: 200, check: notHers},
		// R34: another account's marketplace is that account's: 403, as for one that does not exist.
		{name: "an organisation's team", as: ma, path: in(team1) + entries, want: 403,
			absent: "/clusters/root:no-such-team" + entries, absentName: "root:no-such-team", presentName: team1.Path},
		// R34: not through the wildcard.
		{name: "wildcard", as: ma, path: "/clusters/*" + entries, want: 403},
		// R34: entries cannot be written, not even by the account's admin: no role holds a write
		// verb on them (authorization comes first; platform admins get 405).
		{name: "create an entry", as: ma, method: http.MethodPost, path: in(o) + entries, header: http.Header{"Content-Type": {"application/json"}},
			body: `{"apiVersion":"marketplace.accountmesh.io/v1alpha1","kind":"MarketplaceEntry","metadata":{"name":"` + privEntry + `"}}`, want: 403},
		{name: "delete an entry", as: ma, method: http.MethodDelete, path: in(o) + entries + "/" + pubEntry, want: 403},
		{name: "patch an entry", as: ma, method: http.MethodPatch, path: in(o) + entries + "/" + pubEntry, header: mergePatch, body: `{"metadata":{"labels":{"x":"y"}}}`, want: 403},
		// R34: an entry shows this account's bindings only.
		{name: "another team's bindings", as: al, path: in(team2) + entries + "/" + pubEntry, want: 200, check: func(t *testing.T, body string) {
			t.Helper()
			require.NotContains(t, body, "team1-secret-binding")
		}},
		// R35: plans are told only to those who may bind: a plan for an export she may not bind
		// is refused (422, spec.reference.export Forbidden) like one for an export that does not
		// exist, without the plans.
		{name: "probe an organisation's plans", as: ma, method: http.MethodPost, path: in(o) + bindings, header: http.Header{"Content-Type": {"application/json"}},
			body: planBindingJSON("probe", m.sub.Path, "db", "gold"), want: 422,
			absent: in(o) + bindings, absentName: "root:no-such-provider", presentName: m.sub.Path,
			check: func(t *testing.T, body string) {
				t.Helper()
				require.NotContains(t, body, "basic")
			}},
	}, []*framework.Account{o, team1, team2, m.priv, m.sub}, []string{m.priv.ClusterID, privEntry, "team1-secret-binding"})
}

// planBindingJSON is bindingJSON with a plan.
func planBindingJSON(name, path, export, plan string) string {
	return strings.Replace(bindingJSON(name, path, export), `}}}}`, `}},"plan":"`+plan+`"}}`, 1)
}
