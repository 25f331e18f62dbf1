package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// grantTimeout bounds how long a change of RBAC objects takes to reach the authorizer.
const grantTimeout = 15 * time.Second

// kubectlEventually runs kubectl until it succeeds and returns its output: grants reach the
// authorizer through a watch, a few milliseconds after they are written.
func kubectlEventually(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	var out, errOut string
	var err error
	framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
		out, errOut, err = framework.KubectlResult(t, kubeconfig, "", args...)
		return err == nil, nil
	}, "kubectl %s kept failing: %s", strings.Join(args, " "), func() string { return errOut }())
	return out
}

// requireForbidden runs kubectl, which must be refused as forbidden, and returns stderr.
func requireForbidden(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	errOut := framework.KubectlFails(t, kubeconfig, "", args...)
	require.Contains(t, strings.ToLower(errOut), "forbidden", "kubectl %s", strings.Join(args, " "))
	return errOut
}

// eventuallyForbidden runs kubectl until it is refused as forbidden (a revoked grant).
func eventuallyForbidden(t *testing.T, kubeconfig string, args ...string) {
	t.Helper()
	framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
		_, errOut, err := framework.KubectlResult(t, kubeconfig, "", args...)
		return err != nil && strings.Contains(strings.ToLower(errOut), "forbidden"), nil
	}, "kubectl %s was not forbidden", strings.Join(args, " "))
}

// newOrg creates an org account owned by owner and returns its fixture.
func newOrg(t *testing.T, owner string) *framework.Account {
	t.Helper()
	name := framework.RandomName("e2e-")
	kubectlApply(t, server.Kubeconfig, accountYAML(name, "", owner))
	return server.WaitForAccountReady(t.Context(), t, "root", name)
}

// TestAuthzGrants checks owner, inherited and local grants with the real kubectl: the owner's
// inherited admin binding covers the subtree, a plain binding stays in its account, a
// RoleBinding in its namespace, and nothing flows up or sideways.
func TestAuthzGrants(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, "olive")

	// The owner administers the org and creates a child there, which she owns too.
	olive := userKubeconfig(t, org.Path, "olive")
	kubectlEventually(t, olive, "create", "configmap", "by-olive", "-n", "default")
	kubectlApply(t, olive, accountYAML("team", "", ""))
	team := server.WaitForAccountReady(ctx, t, org.Path, "team")
	require.Equal(t, "olive", framework.Kubectl(t, team.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.owner}"))

	// A child owned by tom: olive's grant is inherited into it, tom's stops there.
	kubectlApply(t, org.Kubeconfig, accountYAML("tom", "", "tom"))
	toms := server.WaitForAccountReady(ctx, t, org.Path, "tom")
	kubectlEventually(t, userKubeconfig(t, toms.Path, "olive"), "create", "secret", "generic", "s", "-n", "default")
	tom := userKubeconfig(t, toms.Path, "tom")
	kubectlEventually(t, tom, "get", "secret", "s", "-n", "default")
	requireForbidden(t, userKubeconfig(t, org.Path, "tom"), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, team.Path, "tom"), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, "root", "olive"), "get", "configmaps", "-n", "default")

	// A local view binding in the org: reads there, no secrets, nothing below.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "vic", "--clusterrole=view", "--user=vic")
	vic := userKubeconfig(t, org.Path, "vic")
	kubectlEventually(t, vic, "get", "configmap", "by-olive", "-n", "default")
	kubectlEventually(t, vic, "get", "accounts")
	requireForbidden(t, vic, "get", "secrets", "-n", "default")
	requireForbidden(t, vic, "create", "configmap", "x", "-n", "default")
	requireForbidden(t, userKubeconfig(t, toms.Path, "vic"), "get", "configmaps", "-n", "default")

	// A ClusterRole labelled to aggregate into view extends view in this account only.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "rb-reader", "--verb=get,list", "--resource=rolebindings")
	framework.Kubectl(t, org.Kubeconfig, "label", "clusterrole", "rb-reader", "rbac.authorization.k8s.io/aggregate-to-view=true")
	kubectlEventually(t, vic, "get", "rolebindings", "-n", "default")
	requireForbidden(t, vic, "get", "roles", "-n", "default")

	// An inherited edit binding for a group: flows into every descendant.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "editors", "--clusterrole=edit", "--group=editors")
	framework.Kubectl(t, org.Kubeconfig, "label", "clusterrolebinding", "editors", "accountmesh.io/inherit=true")
	kubectlEventually(t, userKubeconfig(t, toms.Path, "ivy", "editors"), "create", "configmap", "by-ivy", "-n", "default")
	requireForbidden(t, userKubeconfig(t, toms.Path, "ivy", "editors"), "create", "clusterrolebinding", "x", "--clusterrole=view", "--user=x")

	// A RoleBinding grants in its namespace only.
	framework.Kubectl(t, toms.Kubeconfig, "create", "namespace", "other")
	framework.Kubectl(t, toms.Kubeconfig, "create", "rolebinding", "rita", "-n", "default", "--clusterrole=view", "--user=rita")
	rita := userKubeconfig(t, toms.Path, "rita")
	kubectlEventually(t, rita, "get", "configmaps", "-n", "default")
	requireForbidden(t, rita, "get", "configmaps", "-n", "other")
	requireForbidden(t, rita, "get", "namespaces")

	// Revoking takes effect.
	framework.Kubectl(t, org.Kubeconfig, "delete", "clusterrolebinding", "vic")
	eventuallyForbidden(t, vic, "get", "configmap", "by-olive", "-n", "default")
}

// rawGet does a GET with an identity's client config at an absolute path and returns status
// and body.
func rawGet(t *testing.T, cfg *rest.Config, path string) (int, string) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, server.BaseURL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestAuthzUniformDenials checks that an account the caller cannot reach answers exactly as
// one that does not exist, by path and by cluster ID, and that admins still get 404.
func TestAuthzUniformDenials(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	mallory := userConfig(t, "root", "mallory", "developers")
	for _, suffix := range []string{
		"/api/v1/namespaces/default/configmaps",
		"/api/v1/namespaces/default/secrets/x",
		"/apis/core.accountmesh.io/v1alpha1/accounts",
		"/apis",
		"/version",
	} {
		code, existing := rawGet(t, mallory, "/clusters/"+a.Path+suffix)
		require.Equal(t, http.StatusForbidden, code, existing)
		for _, other := range []string{"root:" + framework.RandomName("e2e-"), a.Path + ":nope", "zzzzzzzzzzzzzzzz"} {
			code2, missing := rawGet(t, mallory, "/clusters/"+other+suffix)
			require.Equal(t, code, code2, "%s in %s", suffix, other)
			require.Equal(t, existing, missing, "%s in %s", suffix, other)
		}
		code, byID := rawGet(t, mallory, "/clusters/"+a.ClusterID+suffix)
		require.Equal(t, http.StatusForbidden, code)
		require.Equal(t, existing, byID)
	}
	code, body := rawGet(t, server.Config, "/clusters/root:nope-"+framework.RandomName("")+"/api/v1/namespaces")
	require.Equal(t, http.StatusNotFound, code, body)
	require.Contains(t, body, "not found")
}

// TestAuthzAccountCreation checks who may create which accounts: `create accounts` in the
// parent, and `use` on the type where it is defined (root's types are usable by anyone who may
// create accounts).
func TestAuthzAccountCreation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, "octavia")
	octavia := userKubeconfig(t, org.Path, "octavia")
	// An org type, usable where an org admin grants `use`.
	kubectlEventually(t, octavia, "get", "accounttypes")
	framework.KubectlStdin(t, octavia, `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"squad"},"spec":{"extends":"account"}}`, "apply", "-f", "-")

	// A viewer may not create accounts.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "vera", "--clusterrole=view", "--user=vera")
	vera := userKubeconfig(t, org.Path, "vera")
	kubectlEventually(t, vera, "get", "accounts")
	errOut := framework.KubectlFails(t, vera, accountYAML("by-vera", "", ""), "apply", "-f", "-")
	require.Contains(t, errOut, `User "vera" cannot create resource "accounts"`)

	// A local admin of the org may create accounts of root's types and of the org's types.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "adam", "--clusterrole=admin", "--user=adam")
	adam := userKubeconfig(t, org.Path, "adam")
	kubectlEventually(t, adam, "get", "accounts")
	kubectlApply(t, adam, accountYAML("plain", "", ""))
	kubectlApply(t, adam, accountYAML("squad", "squad", ""))
	server.WaitForAccountReady(ctx, t, org.Path, "squad")
	// Types still have to fit the tree.
	errOut = framework.KubectlFails(t, adam, accountYAML("nested-org", "org", ""), "apply", "-f", "-")
	require.Contains(t, errOut, "spec.type")

	// sam owns a squad account but holds nothing in the org: in his account he may create
	// accounts of root's types, but not use the org's type, which he cannot read either, so it
	// reads like an absent one.
	kubectlApply(t, org.Kubeconfig, accountYAML("sams", "squad", "sam"))
	server.WaitForAccountReady(ctx, t, org.Path, "sams")
	sam := userKubeconfig(t, org.Path+":sams", "sam")
	kubectlEventually(t, sam, "get", "accounts")
	kubectlApply(t, sam, accountYAML("leaf", "account", ""))
	errOut = framework.KubectlFails(t, sam, accountYAML("leaf-squad", "squad", ""), "apply", "-f", "-")
	require.Contains(t, errOut, `spec.type: Not found: "squad"`)
	// Given view in the org, he may read the type, and is told he may not use it.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "sam-views", "--clusterrole=view", "--user=sam")
	framework.Eventually(t, 10*time.Second, func(context.Context) (bool, error) {
		_, errOut, _ := framework.KubectlResult(t, sam, accountYAML("leaf-squad", "squad", ""), "apply", "-f", "-")
		return strings.Contains(errOut, `may not use account type "squad"`), nil
	}, "a readable type sam may not use")
	// octavia's admin grant is inherited, so she can.
	kubectlApply(t, userKubeconfig(t, org.Path+":sams", "octavia"), accountYAML("leaf-squad", "squad", ""))
}

// TestAuthzPluginGrantRevokeAccessTree drives kubectl mesh grant, revoke, access and tree as
// an org owner and as restricted users.
func TestAuthzPluginGrantRevokeAccessTree(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	owner, hank, ian, jo := framework.RandomName("gina-"), framework.RandomName("hank-"), framework.RandomName("ian-"), framework.RandomName("jo-")
	auditors := framework.RandomName("auditors-")
	org := newOrg(t, owner)
	gina := userKubeconfig(t, org.Path, owner)
	kubectlEventually(t, gina, "get", "accounts")
	kubectlApply(t, gina, accountYAML("team", "", ""))
	kubectlApply(t, gina, accountYAML("hidden", "", ""))
	team := server.WaitForAccountReady(ctx, t, org.Path, "team")
	hidden := server.WaitForAccountReady(ctx, t, org.Path, "hidden")
	kubectlApply(t, userKubeconfig(t, hidden.Path, owner), accountYAML("deep", "", ""))
	server.WaitForAccountReady(ctx, t, hidden.Path, "deep")

	require.Equal(t, fmt.Sprintf("granted view to user %q in this account\n", hank), mesh(t, gina, "grant", hank, "view"))
	require.Equal(t, fmt.Sprintf("granted view to group %q in this account\n", auditors), mesh(t, gina, "grant", "group:"+auditors, "view"))
	require.Equal(t, fmt.Sprintf("user %q already holds view in this account\n", hank), mesh(t, gina, "grant", hank, "view"))
	require.Equal(t, fmt.Sprintf("granted edit to user %q in this account and below\n", ian), mesh(t, gina, "grant", ian, "edit", "--inherit"))
	require.Equal(t, fmt.Sprintf("granted edit to group %q in this account\n", "devs"), mesh(t, gina, "grant", "--group", "devs", "edit"))

	kubectlEventually(t, userKubeconfig(t, org.Path, hank), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, team.Path, hank), "get", "configmaps", "-n", "default")
	kubectlEventually(t, userKubeconfig(t, team.Path, ian), "create", "configmap", "by-ian", "-n", "default")

	// access: the owner's and ian's grants come from the org, inherited; hank's does not reach.
	out := mesh(t, userKubeconfig(t, team.Path, owner), "access")
	require.Regexp(t, `(?m)^`+owner+` +User +ClusterRole/admin +\* +`+org.Path+` \(inherited\) +ClusterRoleBinding/accountmesh:owner$`, out)
	require.Regexp(t, `(?m)^`+ian+` +User +ClusterRole/edit +\* +`+org.Path+` \(inherited\) +ClusterRoleBinding/accountmesh:grant:edit:inherited$`, out)
	require.Regexp(t, `(?m)^`+owner+` +User +ClusterRole/admin +\* +`+team.Path+` \(here, inherited below\) +ClusterRoleBinding/accountmesh:owner$`, out)
	require.NotContains(t, out, hank)
	out = mesh(t, gina, "access")
	require.Regexp(t, `(?m)^`+hank+` +User +ClusterRole/view +\* +`+org.Path+` \(here\) +ClusterRoleBinding/accountmesh:grant:view$`, out)
	require.Regexp(t, `(?m)^`+auditors+` +Group +ClusterRole/view +\* +`+org.Path+` \(here\) +ClusterRoleBinding/accountmesh:grant:view$`, out)
	require.Contains(t, strings.ToLower(meshFails(t, userKubeconfig(t, org.Path, hank), "access")), "forbidden")

	// revoke removes one subject; the binding stays for the others.
	require.Equal(t, fmt.Sprintf("revoked view from user %q in this account\n", hank), mesh(t, gina, "revoke", hank, "view"))
	eventuallyForbidden(t, userKubeconfig(t, org.Path, hank), "get", "configmaps", "-n", "default")
	require.Contains(t, framework.Kubectl(t, org.Kubeconfig, "get", "clusterrolebinding", "accountmesh:grant:view", "-o", "jsonpath={.subjects[*].name}"), auditors)
	require.Contains(t, meshFails(t, gina, "revoke", hank, "view"), "holds no local grant")
	require.Equal(t, fmt.Sprintf("revoked edit from user %q in this account and below\n", ian), mesh(t, gina, "revoke", ian, "edit", "--inherit"))
	framework.KubectlFails(t, org.Kubeconfig, "", "get", "clusterrolebinding", "accountmesh:grant:edit:inherited")
	eventuallyForbidden(t, userKubeconfig(t, team.Path, ian), "get", "configmaps", "-n", "default")
	// Granting is an RBAC write, with escalation prevention: an editor cannot grant.
	require.Contains(t, strings.ToLower(meshFails(t, userKubeconfig(t, team.Path, ian), "grant", ian, "admin")), "forbidden")

	// The tree as jo, who holds view in team and an inherited view in hidden, and nothing in
	// root: exactly those accounts.
	mesh(t, userKubeconfig(t, team.Path, owner), "grant", jo, "view")
	mesh(t, userKubeconfig(t, hidden.Path, owner), "grant", jo, "view", "--inherit")
	joRoot := userKubeconfig(t, "root", jo)
	want := fmt.Sprintf("root\n├── %s:hidden (account)\n│   └── deep (account)\n└── %s:team (account)\n", org.Name, org.Name)
	framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
		out, _, err := meshResult(t, joRoot, "tree")
		return err == nil && out == want, nil
	}, "the tree as a restricted user")
	// The same list in one request with kubectl.
	out = framework.Kubectl(t, joRoot, "get", "accessibleaccounts", "-o", "name")
	require.Equal(t, fmt.Sprintf("accessibleaccount.authorization.accountmesh.io/%s:hidden\naccessibleaccount.authorization.accountmesh.io/%s:hidden:deep\naccessibleaccount.authorization.accountmesh.io/%s:team\n",
		org.Path, org.Path, org.Path), out)
	// Read in an account, the list covers its subtree.
	out = framework.Kubectl(t, userKubeconfig(t, hidden.Path, jo), "get", "accessibleaccounts", "-o", "name")
	require.Equal(t, fmt.Sprintf("accessibleaccount.authorization.accountmesh.io/%s:hidden\naccessibleaccount.authorization.accountmesh.io/%s:hidden:deep\n", org.Path, org.Path), out)

	// The list is a tree a level at a time: jo's top level is hidden and team (the org between
	// them and root is not accessible), each naming its nearest accessible ancestor.
	out = framework.Kubectl(t, joRoot, "get", "accessibleaccounts", "-o", "custom-columns=PATH:.spec.path,PARENT:.spec.parent,CHILDREN:.status.children,PHASE:.status.phase", "--no-headers")
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	require.Equal(t, [][]string{
		{org.Path + ":hidden", "<none>", "1", "Ready"},
		{org.Path + ":hidden:deep", org.Path + ":hidden", "<none>", "Ready"},
		{org.Path + ":team", "<none>", "<none>", "Ready"},
	}, rows)
	for _, tc := range []struct{ selector, want string }{
		{"spec.parent=", org.Path + ":hidden " + org.Path + ":team"},
		{"spec.parent=" + org.Path + ":hidden", org.Path + ":hidden:deep"},
		{"search=DEEP", org.Path + ":hidden:deep"},
		{"spec.parent=,search=team", org.Path + ":team"},
		{"status.phase=Ready,spec.type=account", org.Path + ":hidden " + org.Path + ":hidden:deep " + org.Path + ":team"},
		{"status.phase=Terminating", ""},
	} {
		require.Equal(t, tc.want, framework.Kubectl(t, joRoot, "get", "accessibleaccounts", "--field-selector", tc.selector, "-o", "jsonpath={.items[*].spec.path}"), tc.selector)
	}
	// kubectl pages through it as through any list.
	require.Equal(t, framework.Kubectl(t, joRoot, "get", "accessibleaccounts", "-o", "name"),
		framework.Kubectl(t, joRoot, "get", "accessibleaccounts", "-o", "name", "--chunk-size", "1"))
	require.Contains(t, framework.KubectlFails(t, joRoot, "", "get", "accessibleaccounts", "--field-selector", "spec.owner=x"), "field label not supported: spec.owner")
	require.Contains(t, framework.KubectlFails(t, joRoot, "", "get", "accessibleaccounts", "--field-selector", "search!=x"), "search supports only =")
}

// TestAuthzBuiltinClusterRoles shows the built-in roles with kubectl as a real cluster shows its
// default roles, with the rules they have in the account (aggregation included), and refuses to
// create or change them.
func TestAuthzBuiltinClusterRoles(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	out := framework.Kubectl(t, a.Kubeconfig, "get", "clusterroles", "-o", "name")
	for _, name := range []string{"admin", "edit", "view"} {
		require.Contains(t, out, "clusterrole.rbac.authorization.k8s.io/"+name)
	}
	require.Equal(t, "admin edit system:auth-delegator view", framework.Kubectl(t, a.Kubeconfig, "get", "clusterroles", "-l", "accountmesh.io/built-in=true", "-o", "jsonpath={.items[*].metadata.name}"))
	created := framework.Kubectl(t, a.Kubeconfig, "get", "clusterrole", "admin", "-o", "jsonpath={.metadata.creationTimestamp}")
	require.Equal(t, framework.Kubectl(t, server.Kubeconfig, "get", "account", a.Name, "-o", "jsonpath={.metadata.creationTimestamp}"), created,
		"the built-in roles exist since their account does")
	require.NotContains(t, framework.Kubectl(t, a.Kubeconfig, "describe", "clusterrole", "view"), "widgets.example.com")

	// A ClusterRole aggregated into view shows in view's rules in this account only.
	framework.KubectlStdin(t, a.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- {apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch]}
`, "apply", "-f", "-")
	framework.Eventually(t, 10*time.Second, func(context.Context) (bool, error) {
		return strings.Contains(framework.Kubectl(t, a.Kubeconfig, "describe", "clusterrole", "view"), "widgets.example.com"), nil
	}, "view does not show the aggregated rule")
	other := server.NewAccount(t, "root")
	require.NotContains(t, framework.Kubectl(t, other.Kubeconfig, "describe", "clusterrole", "view"), "widgets.example.com")

	out = framework.KubectlFails(t, a.Kubeconfig, "", "create", "clusterrole", "admin", "--verb=get", "--resource=configmaps")
	require.Contains(t, out, "is a built-in ClusterRole of every account")
	out = framework.KubectlFails(t, a.Kubeconfig, "", "delete", "clusterrole", "view")
	require.Contains(t, out, "is a built-in ClusterRole of every account and cannot be deleted")
}
