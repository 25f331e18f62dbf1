package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// rbacWorld is the fixture of the RBAC attacks: an org with a child account kid, and users
// holding a little in the org.
type rbacWorld struct {
	org, kid                       *framework.Account
	lea, rob, nia, bea, sam, staff string
	// l (lea), r (rob), n (nia), b (bea) and s (sam) are their raw HTTP access.
	l, r, n, b, s *actor
}

// newRBACWorld builds the fixture: lea administers the org, not inherited; staff (lea and sam)
// view the org and below and hold staff-role there and below; rob manages RBAC objects and
// views the org, where cm-reader is a role he may change within his rights; nia administers the
// org's namespace default; bea may bind view in the org (not inherited) and manage RBAC
// objects.
func newRBACWorld(t *testing.T) *rbacWorld {
	t.Helper()
	w := &rbacWorld{}
	w.org = newOrg(t, framework.RandomName("owner-"))
	w.kid = server.CreateAccount(t, w.org.Path, "kid")
	w.lea, w.rob, w.nia, w.bea, w.sam, w.staff = framework.RandomName("lea-"), framework.RandomName("rob-"), framework.RandomName("nia-"),
		framework.RandomName("bea-"), framework.RandomName("sam-"), framework.RandomName("staff-")
	org, kid := w.org, w.kid
	framework.Kubectl(t, org.Kubeconfig, "create", "namespace", "other")
	framework.Kubectl(t, kid.Kubeconfig, "create", "secret", "generic", "kid-secret", "-n", "default", "--from-literal=v=1")
	grantRole(t, org, "admin", "--user="+w.lea, false)
	grantRole(t, org, "view", "--group="+w.staff, true)
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "staff-role", "--verb=get,list", "--resource=configmaps")
	grantRole(t, org, "staff-role", "--group="+w.staff, true)
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "rbac-manager", "--verb=get,list,watch,create,update,patch,delete",
		"--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io")
	grantRole(t, org, "rbac-manager", "--user="+w.rob, false)
	grantRole(t, org, "view", "--user="+w.rob, false)
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "cm-reader", "--verb=get", "--resource=configmaps")
	framework.Kubectl(t, org.Kubeconfig, "create", "rolebinding", "nia", "-n", "default", "--clusterrole=admin", "--user="+w.nia)
	kubectlApply(t, org.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bind-view}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [view]}
`)
	grantRole(t, org, "bind-view", "--user="+w.bea, false)
	grantRole(t, org, "rbac-manager", "--user="+w.bea, false)

	w.l, w.r, w.n, w.b = certActor(t, w.lea, w.staff), certActor(t, w.rob), certActor(t, w.nia), certActor(t, w.bea)
	w.s = certActor(t, w.sam, w.staff)
	cms := "/api/v1/namespaces/default/configmaps"
	for _, a := range []*actor{w.l, w.r, w.n} {
		eventuallyAllowed(t, a, w.in(org)+cms)
	}
	eventuallyAllowed(t, w.s, w.in(kid)+cms)
	eventuallyAllowed(t, w.r, w.in(org)+"/apis/rbac.authorization.k8s.io/v1/clusterroles")
	eventuallyAllowed(t, w.b, w.in(org)+"/apis/rbac.authorization.k8s.io/v1/clusterroles")
	return w
}

func (w *rbacWorld) in(a *framework.Account) string { return "/clusters/" + a.Path }

// rbacRole is a ClusterRole manifest with rules (JSON).
func rbacRole(name, rules string) string {
	return `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"` + name + `"},"rules":[` + rules + `]}`
}

// rbacBinding is a (Cluster)RoleBinding manifest of one user; ns and labels (JSON members) are
// left out when empty.
func rbacBinding(kind, name, ns, roleKind, roleName, labels, user string) string {
	meta := `"name":"` + name + `"`
	if ns != "" {
		meta += `,"namespace":"` + ns + `"`
	}
	if labels != "" {
		meta += `,"labels":{` + labels + `}`
	}
	return `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"` + kind + `","metadata":{` + meta + `},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"` + roleKind + `","name":"` + roleName + `"},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"` + user + `"}]}`
}

// Fragments of RBAC manifests.
const (
	inheritLabel = `"accountmesh.io/inherit":"true"`
	allRule      = `{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}`
	secretsRule  = `{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list"]}`
)

// TestHostileRBAC attacks escalation prevention with every object that grants: roles with
// rights the author lacks, bindings beyond a namespace, the owner binding and inheritance
// through server-side apply and RoleBindings.
func TestHostileRBAC(t *testing.T) {
	t.Parallel()
	w := newRBACWorld(t)
	org, kid, l, r, n, s := w.org, w.kid, w.l, w.r, w.n, w.s
	in := w.in
	crs := in(org) + "/apis/rbac.authorization.k8s.io/v1/clusterroles"
	crbs := in(org) + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
	role, binding, inherit, all := rbacRole, rbacBinding, inheritLabel, allRule
	nia, lea, sam := w.nia, w.lea, w.sam

	hostileTable(t, []attack{
		// R6: a namespace admin cannot write cluster-wide roles.
		{name: "namespace admin creates a ClusterRole", as: n, method: http.MethodPost, path: crs, body: role("ns-admin-all", `{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}`), want: 403},
		// R6: nor roles in another namespace.
		{name: "namespace admin creates a Role elsewhere", as: n, method: http.MethodPost, path: in(org) + "/apis/rbac.authorization.k8s.io/v1/namespaces/other/roles",
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"x","namespace":"other"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]}`, want: 403},
		// R6: nor bind admin in another namespace.
		{name: "namespace admin binds admin elsewhere", as: n, method: http.MethodPost, path: in(org) + "/apis/rbac.authorization.k8s.io/v1/namespaces/other/rolebindings",
			body: binding("RoleBinding", "nia-other", "other", "ClusterRole", "admin", "", nia), want: 403},
		// R6: replacing a role (PUT) with every right.
		{name: "update a ClusterRole to star", as: r, method: http.MethodPut, path: crs + "/cm-reader", body: role("cm-reader", all), want: 403},
		// R6: server-side apply of every right.
		{name: "apply a ClusterRole with star", as: r, method: http.MethodPatch, path: crs + "/cm-reader?fieldManager=rob&force=true", header: applyPatch, body: role("cm-reader", all), want: 403},
		// R6, R11: non-resource URLs (metrics, profiler) an admin does not hold.
		{name: "ClusterRole for /metrics", as: l, method: http.MethodPost, path: crs, body: role("metrics", `{"nonResourceURLs":["/metrics","/debug/*"],"verbs":["get"]}`), want: 403},
		// R6, R5: impersonation an admin does not hold.
		{name: "ClusterRole to impersonate", as: l, method: http.MethodPost, path: crs, body: role("imp", `{"apiGroups":[""],"resources":["users","groups"],"verbs":["impersonate"]}`), want: 403},
		// R6: escalate and bind.
		{name: "ClusterRole with escalate and bind", as: l, method: http.MethodPost, path: crs, body: role("esc", `{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["escalate","bind"]}`), want: 403},
		// R6, R3: writing Account status (the cluster ID behind a path).
		{name: "ClusterRole for accounts/status", as: l, method: http.MethodPost, path: crs, body: role("acc-status", `{"apiGroups":["core.accountmesh.io"],"resources":["accounts/status"],"verbs":["update","patch"]}`), want: 403},
		// R6: taking over the owner binding, which is inherited.
		{name: "rewrite the owner binding", as: l, method: http.MethodPatch, path: crbs + "/accountmesh:owner", header: mergePatch,
			body: `{"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"` + lea + `"}]}`, want: 403},
		// R6: an inherited binding by server-side apply from a local admin.
		{name: "apply an inherited admin binding", as: l, method: http.MethodPatch, path: crbs + "/lea-down?fieldManager=lea", header: applyPatch,
			body: binding("ClusterRoleBinding", "lea-down", "", "ClusterRole", "admin", inherit, lea), want: 403},
		// R6: the inherit label means nothing on a RoleBinding: it binds in its namespace only.
		{name: "inherit label on a RoleBinding", as: l, method: http.MethodPost, path: in(org) + "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
			body: binding("RoleBinding", "lea-rb", "default", "ClusterRole", "admin", inherit, sam), want: 201, mutates: true,
			after: func(t *testing.T) {
				t.Helper()
				eventuallyAllowed(t, s, in(org)+"/api/v1/namespaces/default/secrets")
				code, body := s.do(t, http.MethodGet, in(kid)+"/api/v1/namespaces/default/secrets", nil, "")
				require.Equal(t, http.StatusForbidden, code, "a RoleBinding labelled to inherit granted below: %s", body)
			}},
	}, []*framework.Account{org, kid}, []string{kid.ClusterID})
}
