package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// requesterOf reads the requester annotation of a context as an admin.
func requesterOf(t *testing.T, a *framework.Account, name string) authenticationv1.UserInfo {
	t.Helper()
	raw := framework.Kubectl(t, a.Kubeconfig, "get", "orchestrationcontext", name, "-o",
		`jsonpath={.metadata.annotations.orchestration\.accountmesh\.io/requester}`)
	var u authenticationv1.UserInfo
	require.NoError(t, json.Unmarshal([]byte(raw), &u), "requester annotation %q", raw)
	return u
}

// TestHostileOrchestration attacks orchestration contexts as mallory, who edits one account and
// may not read a victim account: she cannot forge or drop the requester the controller reads
// members with (R29), cannot learn through a context whether another account's object exists
// (R30), cannot take over a context another user created to point it at what only that user may
// read, and a context never shows a member's spec nor writes to a member what she could not
// (R31).
func TestHostileOrchestration(t *testing.T) {
	t.Parallel()
	mallory, alice := framework.RandomName("mallory-"), framework.RandomName("alice-")
	a, v, group := componentAccounts(t, mallory, alice)
	grantRole(t, v, "component-reader", "--user="+alice, false)
	framework.KubectlStdin(t, a.Kubeconfig, componentYAML(group, "own", "own-spec-marker"), "create", "-f", "-")
	framework.KubectlStdin(t, v.Kubeconfig, componentYAML(group, "vault", "victim-spec-marker"), "create", "-f", "-")
	m := userKubeconfig(t, a.Path, mallory)
	kubectlEventually(t, m, "get", "orchestrationcontexts")

	own := memberYAML{name: "own", apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "own"}

	// R29: the requester annotation she sends is replaced by who she is.
	forged := strings.Replace(contextYAML("forged", own), "metadata: {name: forged, namespace: default}",
		`metadata: {name: forged, namespace: default, annotations: {orchestration.accountmesh.io/requester: '{"username":"admin","groups":["system:masters"]}'}}`, 1)
	framework.KubectlStdin(t, m, forged, "create", "-f", "-")
	u := requesterOf(t, a, "forged")
	require.Equal(t, mallory, u.Username)
	require.NotContains(t, u.Groups, "system:masters")
	// Nor can she change or drop it later while the members stay.
	framework.Kubectl(t, m, "annotate", "orchestrationcontext", "forged", "--overwrite",
		`orchestration.accountmesh.io/requester={"username":"admin","groups":["system:masters"]}`)
	require.Equal(t, mallory, requesterOf(t, a, "forged").Username)
	framework.Kubectl(t, m, "annotate", "orchestrationcontext", "forged", "orchestration.accountmesh.io/requester-")
	require.Equal(t, mallory, requesterOf(t, a, "forged").Username)

	// R31: a member she may read but not patch gets no dependency gate from her context: the
	// controller writes to members only what she could.
	framework.Kubectl(t, a.Kubeconfig, "create", "configmap", "settings")
	gated := own
	gated.dependsOn = []string{"settings"}
	framework.KubectlStdin(t, m, contextYAML("gated", gated,
		memberYAML{name: "settings", apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "settings"}), "create", "-f", "-")
	eventuallyContext(t, m, "gated", memberField("own", "waitingFor[*]"), "settings")
	requireNoGate(t, a, "own")

	// R30: a member in the victim account is refused alike whether the object exists, the
	// object does not, or the account does not: the answer names only the entry.
	probe := func(account, object string) string {
		return framework.KubectlFails(t, m, contextYAML("probe", own,
			memberYAML{name: "target", account: account, apiVersion: group + "/v1", kind: "Component", namespace: "default", object: object}), "create", "-f", "-")
	}
	present := probe(v.Path, "vault")
	require.Contains(t, present, `may not get and watch spec.members[1] ("target")`)
	require.Equal(t, present, probe(v.Path, "nothing-here"), "an absent object must look like a forbidden one")
	require.Equal(t, present, probe("root:"+framework.RandomName("absent-"), "vault"), "an absent account must look like a forbidden one")
	require.Equal(t, present, probe(v.ClusterID, "vault"), "a cluster ID must look like a path")
	for _, leak := range []string{v.ClusterID, "victim-spec-marker", "Component"} {
		require.NotContains(t, present, leak)
	}
	_, _, err := framework.KubectlResult(t, a.Kubeconfig, "", "get", "orchestrationcontext", "probe")
	require.Error(t, err, "a refused context was stored")

	// R30: alice, who may read the victim's vault, groups it; mallory, who may edit the context
	// in her account, cannot repoint it, nor change its readiness to read the vault through it.
	vault := memberYAML{name: "vault", account: v.Path, apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "vault"}
	aliceKC := userKubeconfig(t, a.Path, alice)
	kubectlEventuallyStdin(t, aliceKC, contextYAML("shared", vault), "create", "-f", "-")
	eventuallyContext(t, aliceKC, "shared", memberField("vault", "reason"), "NotReady")
	before := framework.Kubectl(t, a.Kubeconfig, "get", "orchestrationcontext", "shared", "-o", "jsonpath={.metadata.resourceVersion}")
	leaky := vault
	leaky.readiness = "self.spec.note == 'x' || int(self.spec.note) > 0"
	out := framework.KubectlFails(t, m, contextYAML("shared", leaky), "apply", "-f", "-")
	require.Contains(t, out, `may not get and watch spec.members[0] ("vault")`)
	require.Equal(t, before, framework.Kubectl(t, a.Kubeconfig, "get", "orchestrationcontext", "shared", "-o", "jsonpath={.metadata.resourceVersion}"),
		"the refused update changed the context")
	// Nor can she make the context delete the vault with alice's rights.
	out = framework.KubectlFails(t, m, contextWithPolicyYAML("shared", "Delete", vault), "apply", "-f", "-")
	require.Contains(t, out, `may not get, watch and delete spec.members[0] ("vault")`)
	require.Equal(t, before, framework.Kubectl(t, a.Kubeconfig, "get", "orchestrationcontext", "shared", "-o", "jsonpath={.metadata.resourceVersion}"))
	// A change that leaves the members alone keeps alice as the requester.
	framework.Kubectl(t, m, "label", "orchestrationcontext", "shared", "owner=mallory")
	require.Equal(t, alice, requesterOf(t, a, "shared").Username)

	// R31: no status shows a member's spec, to her or anyone.
	framework.Kubectl(t, v.Kubeconfig, "patch", "components", "vault", "--subresource=status", "--type=merge", "-p",
		`{"status":{"conditions":[{"type":"Ready","status":"True","message":"ok"}]}}`)
	eventuallyContext(t, aliceKC, "shared", memberField("vault", "reason"), "Ready")
	eventuallyContext(t, m, "forged", "{.status.summary}", "0/1 ready")
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		all := framework.Kubectl(t, m, "get", "orchestrationcontexts", "-o", "json")
		require.NotContains(t, all, "victim-spec-marker")
		require.NotContains(t, all, "own-spec-marker")
		return strings.Contains(all, `"summary": "1/1 ready"`), nil
	}, "the shared context never became ready")
}

// TestHostileOrchestrationSelector attacks selector members (R41) as mallory, who edits one
// account and may not read a victim account nor the account below her own: a selector in the
// victim is refused alike whether the account exists or serves the kind, naming only the
// entry; a selector over her own subtree needs an inherited grant, so her local one does not
// reach the account below, whose objects no status of hers shows.
func TestHostileOrchestrationSelector(t *testing.T) {
	t.Parallel()
	mallory := framework.RandomName("mallory-")
	a, v, group := componentAccounts(t, mallory)
	below := server.NewAccount(t, a.Path)
	applyComponentCRD(t, below, group)
	framework.KubectlStdin(t, v.Kubeconfig, labelledComponentYAML(group, "vault", "db"), "create", "-f", "-")
	framework.KubectlStdin(t, below.Kubeconfig, labelledComponentYAML(group, "hidden", "db"), "create", "-f", "-")
	framework.KubectlStdin(t, a.Kubeconfig, componentYAML(group, "front", "front"), "create", "-f", "-")
	m := userKubeconfig(t, a.Path, mallory)
	kubectlEventually(t, m, "get", "orchestrationcontexts")

	probe := func(account string, subtree bool) string {
		return framework.KubectlFails(t, m, selectorContextYAML("probe", group, account, subtree), "create", "-f", "-")
	}
	present := probe(v.Path, false)
	require.Contains(t, present, `may not get, list and watch the kind selected by spec.members[0] ("dbs")`)
	require.Equal(t, present, probe("root:"+framework.RandomName("absent-"), false), "an absent account must look like a forbidden one")
	require.Equal(t, present, probe(v.ClusterID, false), "a cluster ID must look like a path")
	for _, leak := range []string{v.ClusterID, "vault"} {
		require.NotContains(t, present, leak)
	}

	// Her grant in her account does not reach below it.
	out := probe("", true)
	require.Contains(t, out, `through inherited bindings, the kind selected by spec.members[0] ("dbs")`)
	require.NotContains(t, out, below.Path)
	_, _, err := framework.KubectlResult(t, a.Kubeconfig, "", "get", "orchestrationcontext", "probe")
	require.Error(t, err, "a refused context was stored")

	// Without subtree, her selector sees her account only.
	framework.KubectlStdin(t, m, selectorContextYAML("mine", group, "", false), "create", "-f", "-")
	eventuallyContext(t, m, "mine", memberField("dbs", "reason"), "NotFound")
	all := framework.Kubectl(t, m, "get", "orchestrationcontexts", "-o", "json")
	for _, leak := range []string{"hidden", below.Path, "vault", v.Path} {
		require.NotContains(t, all, leak)
	}
}
