package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// selectorContextYAML is a context in namespace default with a selector member dbs over the
// components labelled tier=db in account (and below it, with subtree), and a member front, in
// the context's account, that depends on it.
func selectorContextYAML(name, group, account string, subtree bool) string {
	return fmt.Sprintf(`apiVersion: orchestration.accountmesh.io/v1alpha1
kind: OrchestrationContext
metadata: {name: %s, namespace: default}
spec:
  members:
  - name: dbs
    selector: {account: %q, apiVersion: %s/v1, kind: Component, subtree: %t, labelSelector: {matchLabels: {tier: db}}}
  - name: front
    ref: {apiVersion: %s/v1, kind: Component, namespace: default, name: front}
    dependsOn: [dbs]
`, name, account, group, subtree, group)
}

// labelledComponentYAML is a component in namespace default with a tier label.
func labelledComponentYAML(group, name, tier string) string {
	return fmt.Sprintf("apiVersion: %s/v1\nkind: Component\nmetadata: {name: %s, namespace: default, labels: {tier: %s}}\nspec: {note: x}\n", group, name, tier)
}

// statusMemberNames lists the names in a context's status.members.
func statusMemberNames(t *testing.T, kubeconfig, name string) string {
	t.Helper()
	return contextField(t, kubeconfig, name, `{.status.members[*].name}`)
}

// TestOrchestrationSelector groups, with a selector over a subtree, the components labelled
// tier=db in an account and the account below it: each match shows in the status as
// <member>/<account>/<namespace>/<name>, the selector is ready when all are, a member depending
// on it waits for all of them, and matches come and go with their labels, seen through the
// watch. Over a subtree the creator needs the grant through an inherited binding (bob, with a
// local one, may select in the account only); a selector matching more than 100 objects is
// refused with 422.
func TestOrchestrationSelector(t *testing.T) {
	t.Parallel()
	org := server.NewAccount(t, "root")
	child := server.NewAccount(t, org.Path)
	group := randomGroup()
	applyComponentCRD(t, org, group)
	applyComponentCRD(t, child, group)
	alice, bob := framework.RandomName("alice-"), framework.RandomName("bob-")
	grantRole(t, org, "edit", "--user="+alice, false)
	grantRole(t, org, "component-reader", "--user="+alice, true)
	grantRole(t, org, "edit", "--user="+bob, false)
	grantRole(t, org, "component-reader", "--user="+bob, false)
	framework.KubectlStdin(t, org.Kubeconfig, componentYAML(group, "front", "front"), "create", "-f", "-")
	framework.KubectlStdin(t, org.Kubeconfig, labelledComponentYAML(group, "a", "db"), "create", "-f", "-")
	framework.KubectlStdin(t, child.Kubeconfig, labelledComponentYAML(group, "b", "db"), "create", "-f", "-")
	framework.KubectlStdin(t, child.Kubeconfig, labelledComponentYAML(group, "c", "web"), "create", "-f", "-")
	aliceKC, bobKC := userKubeconfig(t, org.Path, alice), userKubeconfig(t, org.Path, bob)
	kubectlEventually(t, aliceKC, "get", "components")
	kubectlEventually(t, bobKC, "get", "components")

	// bob's grant stops at the account: he may select there, not over the subtree.
	out := framework.KubectlFails(t, bobKC, selectorContextYAML("fleet", group, "", true), "create", "-f", "-")
	require.Contains(t, out, `may not get, list and watch, through inherited bindings, the kind selected by spec.members[0] ("dbs")`)
	framework.KubectlStdin(t, bobKC, selectorContextYAML("local", group, "", false), "create", "-f", "-")
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		return statusMemberNames(t, bobKC, "local") == "dbs dbs/"+org.Path+"/default/a front", nil
	}, "the local selector does not match a alone: %s", lazy(func() string { return statusMemberNames(t, bobKC, "local") }))

	// alice's is inherited: the selector reaches the child account.
	kubectlEventuallyStdin(t, aliceKC, selectorContextYAML("fleet", group, "", true), "create", "-f", "-")
	a, b := "dbs/"+org.Path+"/default/a", "dbs/"+child.Path+"/default/b"
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		return statusMemberNames(t, aliceKC, "fleet") == "dbs "+a+" "+b+" front", nil
	}, "the matches are not reported: %s", lazy(func() string { return statusMemberNames(t, aliceKC, "fleet") }))
	require.Equal(t, "0/2 matches ready; not ready: "+org.Path+"/default/a, "+child.Path+"/default/b", contextField(t, aliceKC, "fleet", memberField("dbs", "message")))
	require.Equal(t, child.Path, contextField(t, aliceKC, "fleet", memberField(b, "account")))
	require.Equal(t, "dbs", contextField(t, aliceKC, "fleet", memberField("front", "waitingFor[*]")))

	// Every match ready: the selector is, and front waits for nothing.
	setComponentReady(t, org, "a", "True", "a is up")
	setComponentReady(t, child, "b", "True", "b is up")
	eventuallyContext(t, aliceKC, "fleet", memberField("dbs", "reason"), "Ready")
	require.Equal(t, "b is up", contextField(t, aliceKC, "fleet", memberField(b, "message")))
	require.Empty(t, contextField(t, aliceKC, "fleet", memberField("front", "waitingFor")))

	// A new match in the child, not ready: the selector is degraded; it loses its label: gone
	// again, and the selector ready.
	framework.KubectlStdin(t, child.Kubeconfig, labelledComponentYAML(group, "d", "db"), "create", "-f", "-")
	d := "dbs/" + child.Path + "/default/d"
	eventuallyContext(t, aliceKC, "fleet", memberField(d, "reason"), "NotReady")
	eventuallyContext(t, aliceKC, "fleet", conditionPath("Degraded"), "True")
	framework.Kubectl(t, child.Kubeconfig, "label", "components", "d", "tier=gone", "--overwrite")
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		return !strings.Contains(statusMemberNames(t, aliceKC, "fleet"), d), nil
	}, "the unlabelled component is still a match")
	eventuallyContext(t, aliceKC, "fleet", memberField("dbs", "reason"), "Ready")
	graph := mesh(t, aliceKC, "context", "status", "fleet")
	require.Regexp(t, `\n  - default/b +`+child.Path+` +Ready +b is up\n`, graph)

	// More than 100 matches: 422.
	var many strings.Builder
	for i := range 101 {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: many-%d, namespace: default, labels: {tier: db}}\n", i)
	}
	framework.KubectlStdin(t, org.Kubeconfig, many.String(), "create", "-f", "-")
	capped := `apiVersion: orchestration.accountmesh.io/v1alpha1
kind: OrchestrationContext
metadata: {name: many, namespace: default}
spec:
  members:
  - name: all
    selector: {apiVersion: v1, kind: ConfigMap, labelSelector: {matchLabels: {tier: db}}}
`
	out = framework.KubectlFails(t, aliceKC, capped, "create", "-f", "-")
	require.Contains(t, out, `is invalid: spec.members[0].selector.labelSelector: Invalid value: "tier=db": member "all": the selector matches more than 100 objects`)
}
