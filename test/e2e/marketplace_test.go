package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// entriesGVR is marketplace.accountmesh.io/v1alpha1 marketplaceentries.
var entriesGVR = schema.GroupVersionResource{Group: "marketplace.accountmesh.io", Version: "v1alpha1", Resource: "marketplaceentries"}

// marketplaceTimeout bounds how long a grant or revoke takes to show in a marketplace watch;
// the issue asks for a second, the margin is for a loaded machine.
const marketplaceTimeout = 10 * time.Second

// marketplaceProviders are the three providers of the marketplace tests: pub opens its
// export to everyone, sub to the subtree of an organisation, priv to nobody. Everyone is the
// group everyone, which every user of the test carries: a grant to system:authenticated would
// make pub one of the accessible accounts of every user of the shared server, which other tests
// list exactly.
type marketplaceProviders struct {
	pub, sub, priv *framework.Account
	category       string
	everyone       string
}

// newMarketplaceProviders publishes an export db in three fresh provider accounts, each with a
// catalog in a category of their own, and opens them as their names say; sub is a Shared
// managed service. org is the organisation sub opens to.
func newMarketplaceProviders(t *testing.T, group string, org *framework.Account) marketplaceProviders {
	t.Helper()
	m := marketplaceProviders{pub: server.NewAccount(t, "root"), sub: server.NewAccount(t, "root"), priv: server.NewAccount(t, "root"),
		category: framework.RandomName("cat-"), everyone: framework.RandomName("e2e-everyone-")}
	catalog := `  catalog:
    displayName: Databases
    description: Managed databases.
    categories: [data, ` + m.category + `]
    documentationURL: https://docs.example.com/db
    plans:
    - {name: basic, displayName: Basic, default: true}
    - {name: pro, displayName: Pro}
`
	for _, p := range []*framework.Account{m.pub, m.sub, m.priv} {
		extra := ""
		if p == m.sub {
			extra = sharedServiceYAML
		}
		publishDatabases(t, p, "db", group+"."+strings.ReplaceAll(p.Name, "-", ""), "")
		kubectlApply(t, p.Kubeconfig, `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIExport
metadata: {name: db}
spec:
  resources:
  - {group: `+group+"."+strings.ReplaceAll(p.Name, "-", "")+`, name: databases, schema: v1.databases.`+group+"."+strings.ReplaceAll(p.Name, "-", "")+`}
  permissionClaims:
  - {group: "", resource: configmaps, verbs: [get, list], selector: {matchLabels: {db.example.com/connection: "true"}}}
`+catalog+extra)
		waitExportPlans(t, p, "db")
		kubectlApply(t, p.Kubeconfig, binderRoleYAML("db-binder", "db"))
	}
	framework.Kubectl(t, m.pub.Kubeconfig, "create", "clusterrolebinding", "everyone-binds", "--clusterrole=db-binder", "--group="+m.everyone)
	framework.Kubectl(t, m.sub.Kubeconfig, "create", "clusterrolebinding", "org-binds", "--clusterrole=db-binder", "--group=accountmesh:subtree:"+org.Path)
	return m
}

// entries lists the marketplace of the account of cfg's client and returns the entries of the
// providers, by provider path.
func entries(t *testing.T, d dynamic.Interface, opts metav1.ListOptions, providers ...*framework.Account) map[string]unstructured.Unstructured {
	t.Helper()
	list, err := d.Resource(entriesGVR).List(t.Context(), opts)
	require.NoError(t, err)
	out := map[string]unstructured.Unstructured{}
	for _, e := range list.Items {
		p, _, _ := unstructured.NestedString(e.Object, "spec", "provider", "path")
		if slices.ContainsFunc(providers, func(a *framework.Account) bool { return a.Path == p }) {
			out[p] = e
		}
	}
	return out
}

// keys returns the sorted keys of a map.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestMarketplace: three providers (public, subtree-only, private) and a consumer organisation
// with two teams. Each account's marketplace lists exactly what its user may bind there, with
// the catalog, model, plans, claims and category labels; a grant and a revoke of bind to the
// organisation's subtree show in a watch of either team; an entry that is not there is 404 like
// a name that never was; writes are 405; the account's bindings show in their entry.
func TestMarketplace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	org := server.NewAccount(t, "root")
	team1, team2 := server.NewAccount(t, org.Path), server.NewAccount(t, org.Path)
	outsider := server.NewAccount(t, "root")
	m := newMarketplaceProviders(t, group, org)
	all := []*framework.Account{m.pub, m.sub, m.priv}

	alice, bob := framework.RandomName("alice-"), framework.RandomName("bob-")
	grantRole(t, org, "edit", "--user="+alice, true)
	grantRole(t, outsider, "view", "--user="+bob, false)
	as := func(acc *framework.Account, user string) dynamic.Interface {
		return dynamicClient(t, userConfig(t, acc.Path, user, m.everyone))
	}

	// Each account shows what its user may bind there.
	framework.Eventually(t, marketplaceTimeout, func(context.Context) (bool, error) {
		return len(entries(t, as(team1, alice), metav1.ListOptions{}, all...)) == 2, nil
	}, "team1's marketplace never showed the public and the subtree export")
	for _, tc := range []struct {
		acc  *framework.Account
		user string
		want []string
	}{
		{org, alice, []string{m.pub.Path, m.sub.Path}},
		{team1, alice, []string{m.pub.Path, m.sub.Path}},
		{team2, alice, []string{m.pub.Path, m.sub.Path}},
		{outsider, bob, []string{m.pub.Path}},
	} {
		require.ElementsMatch(t, tc.want, keys(entries(t, as(tc.acc, tc.user), metav1.ListOptions{}, all...)), "marketplace of %s", tc.acc.Path)
	}

	// The entry's fields, as the issue names them.
	e := entries(t, as(team1, alice), metav1.ListOptions{}, all...)[m.sub.Path]
	require.Equal(t, marketplace.EntryName(clusterIDOf(m.sub), "db"), e.GetName())
	for path, want := range map[string]string{
		"spec.export": "db", "spec.catalog.displayName": "Databases", "spec.catalog.description": "Managed databases.",
		"spec.catalog.documentationURL": "https://docs.example.com/db", "spec.model": "Shared",
	} {
		got, _, _ := unstructured.NestedString(e.Object, strings.Split(path, ".")...)
		require.Equal(t, want, got, path)
	}
	require.Equal(t, "true", e.GetLabels()["category.accountmesh.io/"+m.category])
	require.Equal(t, "true", e.GetLabels()["category.accountmesh.io/data"])
	plans, _, _ := unstructured.NestedSlice(e.Object, "spec", "plans")
	require.Len(t, plans, 2)
	claims, _, _ := unstructured.NestedSlice(e.Object, "spec", "permissionClaims")
	require.Len(t, claims, 1)
	require.Equal(t, map[string]interface{}{"matchLabels": map[string]interface{}{"db.example.com/connection": "true"}}, claims[0].(map[string]interface{})["selector"])
	ready, _, _ := unstructured.NestedSlice(e.Object, "status", "conditions")
	require.Equal(t, "True", ready[0].(map[string]interface{})["status"])

	// kubectl: the columns, the category selector and the name selector.
	kc := userKubeconfig(t, team1.Path, alice, m.everyone)
	header, rows := kubectlTable(t, framework.Kubectl(t, kc, "get", "marketplaceentries", "-l", "category.accountmesh.io/"+m.category))
	require.Equal(t, []string{"NAME", "PROVIDER", "SERVICE", "CATEGORIES", "MODEL", "BOUND"}, header)
	require.Len(t, rows, 2)
	for _, r := range rows {
		require.Equal(t, "Databases", r["SERVICE"])
		require.Equal(t, "data,"+m.category, r["CATEGORIES"])
	}
	require.Empty(t, entries(t, as(team1, alice), metav1.ListOptions{LabelSelector: "category.accountmesh.io/" + m.category + "-no"}, all...))
	byName := entries(t, as(team1, alice), metav1.ListOptions{FieldSelector: "metadata.name=" + e.GetName()}, all...)
	require.Equal(t, []string{m.sub.Path}, keys(byName))

	// The private export is not there, and its absence reads as a name that never was.
	privName, neverName := marketplace.EntryName(clusterIDOf(m.priv), "db"), "db-0123456789"
	_, err := as(team1, alice).Resource(entriesGVR).Get(ctx, privName, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "%v", err)
	_, errNever := as(team1, alice).Resource(entriesGVR).Get(ctx, neverName, metav1.GetOptions{})
	require.Equal(t, strings.ReplaceAll(err.Error(), privName, "X"), strings.ReplaceAll(errNever.Error(), neverName, "X"))

	// Writes: 405, for those RBAC lets through (authorization comes first, as upstream).
	out := framework.KubectlFails(t, team1.Kubeconfig, "", "delete", "marketplaceentry", e.GetName())
	require.Contains(t, out, "MethodNotAllowed")
	_, err = team1.Dynamic.Resource(entriesGVR).Create(ctx, &e, metav1.CreateOptions{})
	require.True(t, apierrors.IsMethodNotSupported(err), "%v", err)
	require.Contains(t, framework.KubectlFails(t, kc, "", "delete", "marketplaceentry", e.GetName()), "Forbidden")

	// A grant to the organisation's subtree shows in a watch of team2 and, then, team1; a
	// revoke takes it away.
	w2 := watchEntries(t, as(team2, alice))
	w1 := watchEntries(t, as(team1, alice))
	start := time.Now()
	framework.Kubectl(t, m.priv.Kubeconfig, "create", "clusterrolebinding", "org-binds", "--clusterrole=db-binder", "--group=accountmesh:subtree:"+org.Path)
	requireWatchEvent(t, w2, watch.Added, privName)
	t.Logf("grant seen in team2's watch after %v", time.Since(start))
	requireWatchEvent(t, w1, watch.Added, privName)
	require.Equal(t, []string{m.pub.Path}, keys(entries(t, as(outsider, bob), metav1.ListOptions{}, all...)), "the grant is the organisation's only")
	start = time.Now()
	framework.Kubectl(t, m.priv.Kubeconfig, "delete", "clusterrolebinding", "org-binds")
	requireWatchEvent(t, w2, watch.Deleted, privName)
	t.Logf("revoke seen in team2's watch after %v", time.Since(start))
	requireWatchEvent(t, w1, watch.Deleted, privName)

	// A binding shows in its entry, with its plan; a new binding is a modification in a watch.
	framework.KubectlStdin(t, team1.Kubeconfig, plannedBindingYAML("pub-db", m.pub.Path, "db", "pro"), "create", "-f", "-")
	requireWatchEvent(t, w1, watch.Modified, marketplace.EntryName(clusterIDOf(m.pub), "db"))
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		e := entries(t, as(team1, alice), metav1.ListOptions{}, all...)[m.pub.Path]
		b, _, _ := unstructured.NestedSlice(e.Object, "status", "bindings")
		return len(b) == 1 && b[0].(map[string]interface{})["name"] == "pub-db" && b[0].(map[string]interface{})["plan"] == "pro" &&
			b[0].(map[string]interface{})["phase"] == "Bound", nil
	}, "the binding never showed in its entry")
	_, rows = kubectlTable(t, framework.Kubectl(t, kc, "get", "marketplaceentries", "-l", "category.accountmesh.io/"+m.category))
	bound := map[string]string{}
	for _, r := range rows {
		bound[r["PROVIDER"]] = r["BOUND"]
	}
	require.Equal(t, map[string]string{m.pub.Path: "pub-db", m.sub.Path: ""}, bound)
	require.Empty(t, entries(t, as(team2, alice), metav1.ListOptions{}, all...)[m.pub.Path].Object["status"].(map[string]interface{})["bindings"],
		"team2 has no binding")

	// An export that is not ready is listed with the reason, and -o wide says so.
	kubectlApply(t, m.pub.Kubeconfig, `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIExport
metadata: {name: broken}
spec:
  resources: [{group: `+group+`, name: widgets, schema: v1.widgets.`+group+`}]
  catalog: {categories: [`+m.category+`]}
`)
	kubectlApply(t, m.pub.Kubeconfig, binderRoleYAML("broken-binder", "broken"))
	framework.Kubectl(t, m.pub.Kubeconfig, "create", "clusterrolebinding", "everyone-binds-broken", "--clusterrole=broken-binder", "--group="+m.everyone)
	brokenName := marketplace.EntryName(clusterIDOf(m.pub), "broken")
	framework.Eventually(t, marketplaceTimeout, func(context.Context) (bool, error) {
		_, rows := kubectlTable(t, framework.Kubectl(t, kc, "get", "marketplaceentries", "-o", "wide", "-l", "category.accountmesh.io/"+m.category))
		for _, r := range rows {
			if r["NAME"] == brokenName {
				return r["READY"] == "False (SchemaNotFound)", nil
			}
		}
		return false, nil
	}, "the export that is not ready was not listed with its reason")
}

// clusterIDOf returns an account's cluster ID.
func clusterIDOf(a *framework.Account) cluster.ID { return cluster.ID(a.ClusterID) }

// watchEntries watches the marketplace from the resourceVersion of a list.
func watchEntries(t *testing.T, d dynamic.Interface) watch.Interface {
	t.Helper()
	list, err := d.Resource(entriesGVR).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	w, err := d.Resource(entriesGVR).Watch(t.Context(), metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	return w
}
