package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileBelow attacks what flows down the tree: escalation into descendants through roles
// that inherited bindings use (aggregation, widening), a local bind permission turned into an
// inherited binding, and an ancestor's account types told apart from absent ones. All four got
// through before the escalation check asked for inherited grants and unreadable types read as
// absent.
func TestHostileBelow(t *testing.T) {
	t.Parallel()
	w := newRBACWorld(t)
	org, kid, l, b, s := w.org, w.kid, w.l, w.b, w.s
	in := w.in
	crs := in(org) + "/apis/rbac.authorization.k8s.io/v1/clusterroles"
	kim := framework.RandomName("kim-")
	grantRole(t, kid, "admin", "--user="+kim, false)
	kubectlApply(t, org.Kubeconfig, `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"special"},"spec":{"extends":"account"}}`)
	k := certActor(t, kim)
	eventuallyAllowed(t, k, in(kid)+"/apis/core.accountmesh.io/v1alpha1/accounts")

	// noReachBelow returns a check for attacks that a server may refuse, or accept with effect
	// in the org only: once probe works in the org for who, it must not work in kid.
	noReachBelow := func(who *actor, probe string) func(t *testing.T, body string) {
		return func(t *testing.T, body string) {
			t.Helper()
			if strings.Contains(body, `"kind":"Status"`) {
				return // refused
			}
			framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
				code, _ := who.do(t, http.MethodGet, in(org)+probe, nil, "")
				return code == http.StatusOK, nil
			}, "the accepted change never took effect in the org")
			code, got := who.do(t, http.MethodGet, in(kid)+probe, nil, "")
			require.Equal(t, http.StatusForbidden, code, "%s reached kid: %s", who.name, got)
		}
	}

	hostileTable(t, []attack{
		// R6: aggregating into view, which staff hold by an inherited binding, must not extend
		// what lea (a local admin, in staff) holds below the org.
		{name: "aggregate into an inherited view", as: l, method: http.MethodPost, path: crs,
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"more-view","labels":{"rbac.authorization.k8s.io/aggregate-to-view":"true"}},"rules":[` + secretsRule + `]}`,
			want: 403, alsoOK: []int{201}, mutates: true, check: noReachBelow(s, "/api/v1/namespaces/default/secrets")},
		// R6: widening a role that an inherited binding refers to, likewise.
		{name: "widen a role bound by an inherited binding", as: l, method: http.MethodPatch, path: crs + "/staff-role", header: jsonPatch,
			body: `[{"op":"add","path":"/rules/-","value":{"apiGroups":["rbac.authorization.k8s.io"],"resources":["rolebindings"],"verbs":["get","list"]}}]`,
			want: 403, alsoOK: []int{200}, mutates: true, check: noReachBelow(s, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings")},
		// R6: bind granted in the org only must not make a binding that applies below it.
		{name: "local bind makes an inherited binding", as: b, method: http.MethodPost, path: crs[:len(crs)-len("clusterroles")] + "clusterrolebindings",
			body: rbacBinding("ClusterRoleBinding", "bea-down", "", "ClusterRole", "view", inheritLabel, w.bea), want: 403, alsoOK: []int{201}, mutates: true,
			check: noReachBelow(b, "/api/v1/namespaces/default/configmaps")},
		// R2, R7: an ancestor's account type that kim may not use must read like an absent type.
		{name: "ancestor's type vs absent type", as: k, method: http.MethodPost, path: in(kid) + "/apis/core.accountmesh.io/v1alpha1/accounts",
			body:   `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"t1"},"spec":{"type":"special"}}`,
			absent: in(kid) + "/apis/core.accountmesh.io/v1alpha1/accounts", presentName: "special", absentName: "no-such-type", want: 422},
	}, []*framework.Account{org, kid}, []string{kid.ClusterID})
}
