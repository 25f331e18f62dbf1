package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// bindingsGVR is apis.accountmesh.io/v1alpha1 apibindings.
var bindingsGVR = schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apibindings"}

// TestMarketplaceCLI: a team member lists the marketplace with kubectl mesh (by category, wide,
// yaml), describes an entry, binds a plain export with a plan and its claims accepted (the API
// is usable when the command returns), binds a managed service (connected when it returns),
// sees an unknown and a forbidden export refused alike and a bind with claims refused without a
// terminal, and unbinds.
func TestMarketplaceCLI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	org := server.NewAccount(t, "root")
	team := server.NewAccount(t, org.Path)
	m := newMarketplaceProviders(t, group, org)
	alice := framework.RandomName("alice-")
	grantRole(t, org, "edit", "--user="+alice, true)
	kc := userKubeconfig(t, team.Path, alice, m.everyone)

	// The marketplace, by category, and wide.
	var out string
	framework.Eventually(t, marketplaceTimeout, func(context.Context) (bool, error) {
		out = mesh(t, kc, "marketplace", "--category", m.category)
		return strings.Count(out, "\n") == 3, nil
	}, "the marketplace never listed the two exports: %s", func() string { return out }())
	header, rows := kubectlTable(t, out)
	require.Equal(t, []string{"NAME", "PROVIDER", "SERVICE", "CATEGORIES", "MODEL", "BOUND"}, header)
	models := map[string]string{}
	for _, r := range rows {
		models[r["PROVIDER"]] = r["MODEL"]
	}
	require.Equal(t, map[string]string{m.pub.Path: "<none>", m.sub.Path: "Shared"}, models)
	_, rows = kubectlTable(t, mesh(t, kc, "marketplace", "--category", m.category, "-o", "wide"))
	require.Equal(t, "basic*,pro", rows[0]["PLANS"])
	require.Equal(t, "True", rows[0]["READY"])
	require.Contains(t, mesh(t, kc, "marketplace", "--category", m.category, "-o", "yaml"), "kind: MarketplaceEntry")
	require.Contains(t, mesh(t, kc, "marketplace", "--category", m.category, "-o", "json"), `"export": "db"`)
	require.Equal(t, "No services to bind in this account.\n", mesh(t, kc, "marketplace", "--category", m.category+"-none"))

	pubEntry := marketplace.EntryName(clusterIDOf(m.pub), "db")
	desc := mesh(t, kc, "marketplace", "describe", pubEntry)
	for _, want := range []string{
		"Provider:       " + m.pub.Path, "Bind with:      kubectl mesh bind " + m.pub.Path + "/db",
		"  basic (Basic) [default]", "  pro (Pro)",
		"  configmaps (core): get, list, only objects labelled db.example.com/connection=true",
		"Bindings: <none>",
	} {
		require.Contains(t, desc, want)
	}

	// Unknown and forbidden exports read alike; claims need an answer without a terminal.
	forbidden := meshFails(t, kc, "bind", m.priv.Path+"/db")
	unknown := meshFails(t, kc, "bind", "root:no-such-account/db")
	require.Equal(t, forbidden, strings.ReplaceAll(unknown, "root:no-such-account", m.priv.Path))
	require.Contains(t, forbidden, "does not exist or you may not bind it")
	require.Contains(t, meshFails(t, kc, "bind", m.pub.Path+"/db"), "answer with --accept-claims or --reject-claims")
	_, err := team.Dynamic.Resource(bindingsGVR).Get(ctx, "db", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "a refused bind creates nothing: %v", err)

	// Bind with a plan and the claims accepted: usable when the command returns.
	out = mesh(t, kc, "bind", m.pub.Path+"/db", "--name", "pub-db", "--plan", "pro", "--accept-claims")
	require.Contains(t, out, "claim accepted: configmaps (core): get, list, only objects labelled db.example.com/connection=true")
	require.Contains(t, out, "apibinding/pub-db is ready, plan pro; new resources:\n  databases."+group+"."+strings.ReplaceAll(m.pub.Name, "-", "")+"\n")
	framework.Kubectl(t, team.Kubeconfig, "get", "databases."+group+"."+strings.ReplaceAll(m.pub.Name, "-", ""))
	require.Equal(t, "Accepted", framework.Kubectl(t, team.Kubeconfig, "get", "apibinding", "pub-db", "-o", "jsonpath={.spec.permissionClaims[0].state}"))

	// A managed service: connected when the command returns.
	out = mesh(t, kc, "bind", m.sub.Path+"/db", "--name", "sub-db", "--reject-claims")
	require.Contains(t, out, "claim rejected: configmaps (core)")
	require.Contains(t, out, "apibinding/sub-db is ready, plan basic")
	require.Contains(t, out, "connected: tenant space namespace/db")
	require.Equal(t, "True", framework.Kubectl(t, team.Kubeconfig, "get", "apibinding", "sub-db", "-o", `jsonpath={.status.conditions[?(@.type=="ServiceConnected")].status}`))

	// The shadow account's AccountInfo names the plan, and follows a change of plan.
	shadow := server.WriteKubeconfig(t, framework.Kubectl(t, team.Kubeconfig, "get", "apibinding", "sub-db", "-o", "jsonpath={.status.shadowAccount.clusterID}"))
	shadowPlans := func() string {
		return framework.Kubectl(t, shadow, "get", "accountinfo", "account", "-o", `jsonpath={range .spec.consumer.plans[*]}{.export}={.plan} {end}`)
	}
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) { return shadowPlans() == "db=basic ", nil },
		"the shadow account's AccountInfo never showed the plan: %q", shadowPlans())
	framework.Kubectl(t, kc, "patch", "apibinding", "sub-db", "--type=merge", "-p", `{"spec":{"plan":"pro"}}`)
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) { return shadowPlans() == "db=pro ", nil },
		"the shadow account's AccountInfo never showed the new plan: %q", shadowPlans())

	// The entry shows the binding; unbind waits until it is gone.
	require.Contains(t, mesh(t, kc, "marketplace", "describe", pubEntry), "  pub-db (Bound, plan pro)")
	require.Contains(t, mesh(t, kc, "unbind", "pub-db"), "apibinding/pub-db unbound")
	_, err = team.Dynamic.Resource(bindingsGVR).Get(ctx, "pub-db", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the binding is gone when unbind returns: %v", err)
	require.Contains(t, mesh(t, kc, "unbind", "sub-db"), "apibinding/sub-db unbound")
}
