package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// rawDo sends a request with an identity's config to an absolute path and returns the status.
func rawDo(t *testing.T, cfg *rest.Config, method, path string) int {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), method, server.BaseURL+path, nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// canIRows parses `kubectl auth can-i --list` into resource → verbs.
func canIRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	require.True(t, strings.HasPrefix(lines[0], "Resources"), out)
	for _, l := range lines[1:] {
		fields := strings.Fields(l)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "[") {
			continue // non-resource rows start with an empty resource column
		}
		verbs := strings.Trim(l[strings.LastIndex(l, "["):], "[]")
		rows[fields[0]] = append(rows[fields[0]], strings.Fields(verbs)...)
	}
	return rows
}

// TestAuthzCanIList checks that `kubectl auth can-i --list`, `kubectl auth can-i` and real
// requests agree, resource by resource and verb by verb, for a user with a local ClusterRole
// binding and a RoleBinding in one namespace.
func TestAuthzCanIList(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrolebinding", "carl", "--clusterrole=edit", "--user=carl")
	framework.Kubectl(t, a.Kubeconfig, "create", "role", "role-reader", "-n", "default", "--verb=get,list", "--resource=roles")
	framework.Kubectl(t, a.Kubeconfig, "create", "rolebinding", "carl", "-n", "default", "--role=role-reader", "--user=carl")
	carl := userKubeconfig(t, a.Path, "carl")
	carlCfg := userConfig(t, a.Path, "carl")
	kubectlEventually(t, carl, "get", "roles", "-n", "default")

	rows := canIRows(t, framework.Kubectl(t, carl, "auth", "can-i", "--list", "-n", "default"))
	listed := func(resource, verb string) bool {
		v := rows[resource]
		return slices.Contains(v, verb) || slices.Contains(v, "*")
	}
	base := "/clusters/" + a.Path
	for _, r := range []struct {
		resource  string // as can-i prints it
		kubectlAs string // as kubectl auth can-i takes it
		coll      string // collection path
	}{
		{"configmaps", "configmaps", "/api/v1/namespaces/default/configmaps"},
		{"secrets", "secrets", "/api/v1/namespaces/default/secrets"},
		{"serviceaccounts", "serviceaccounts", "/api/v1/namespaces/default/serviceaccounts"},
		{"namespaces", "namespaces", "/api/v1/namespaces"},
		{"roles.rbac.authorization.k8s.io", "roles.rbac.authorization.k8s.io", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"},
		{"rolebindings.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings"},
		{"clusterroles.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io", "/apis/rbac.authorization.k8s.io/v1/clusterroles"},
		{"leases.coordination.k8s.io", "leases.coordination.k8s.io", "/apis/coordination.k8s.io/v1/namespaces/default/leases"},
		{"accounts.core.accountmesh.io", "accounts.core.accountmesh.io", "/apis/core.accountmesh.io/v1alpha1/accounts"},
		{"accountinfos.core.accountmesh.io", "accountinfos.core.accountmesh.io", "/apis/core.accountmesh.io/v1alpha1/accountinfos"},
	} {
		for _, v := range []struct{ verb, method, suffix string }{
			{"list", http.MethodGet, ""},
			{"get", http.MethodGet, "/does-not-exist"},
			{"delete", http.MethodDelete, "/does-not-exist"},
		} {
			name := fmt.Sprintf("%s %s", v.verb, r.resource)
			code := rawDo(t, carlCfg, v.method, base+r.coll+v.suffix)
			real := code != http.StatusForbidden
			_, _, err := framework.KubectlResult(t, carl, "", "auth", "can-i", v.verb, r.kubectlAs, "-n", "default")
			canI := err == nil
			require.Equal(t, real, listed(r.resource, v.verb), "%s: request answered %d, can-i --list says %v", name, code, rows[r.resource])
			require.Equal(t, real, canI, "%s: request answered %d, can-i says %v", name, code, canI)
		}
	}
	// Sanity: the grant shapes the answer.
	require.True(t, listed("configmaps", "create"))
	require.True(t, listed("roles.rbac.authorization.k8s.io", "list"))
	require.False(t, listed("clusterroles.rbac.authorization.k8s.io", "list"))
	require.False(t, listed("secrets", "get") && !listed("secrets", "list"))
	// In another namespace the RoleBinding does not apply.
	other := canIRows(t, framework.Kubectl(t, carl, "auth", "can-i", "--list", "-n", "kube-system"))
	require.NotContains(t, other, "roles.rbac.authorization.k8s.io")
	// can-i in an account carl cannot reach is refused like any other request.
	b := server.NewAccount(t, "root")
	requireForbidden(t, userKubeconfig(t, b.Path, "carl"), "auth", "can-i", "--list")
}

// TestAuthzEscalation checks escalation prevention: roles and bindings may not grant more than
// the caller holds, unless the caller may escalate or bind; inherited bindings must be
// covered by inherited grants.
func TestAuthzEscalation(t *testing.T) {
	t.Parallel()
	org := newOrg(t, "oscar")
	// rob manages RBAC objects and can view, nothing more.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "rbac-manager", "--verb=get,list,watch,create,update,patch,delete",
		"--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io")
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "rob-rbac", "--clusterrole=rbac-manager", "--user=rob")
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "rob-view", "--clusterrole=view", "--user=rob")
	rob := userKubeconfig(t, org.Path, "rob")
	kubectlEventually(t, rob, "get", "clusterroles")

	errOut := framework.KubectlFails(t, rob, "", "create", "clusterrole", "secret-reader", "--verb=get", "--resource=secrets")
	require.Contains(t, errOut, `clusterroles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "rob"`)
	require.Contains(t, errOut, "is attempting to grant RBAC permissions not currently held")
	require.Contains(t, errOut, `Resources:["secrets"]`)
	errOut = framework.KubectlFails(t, rob, "", "create", "role", "secret-reader", "-n", "default", "--verb=get", "--resource=secrets")
	require.Contains(t, errOut, "is attempting to grant RBAC permissions not currently held")
	errOut = framework.KubectlFails(t, rob, "", "create", "clusterrolebinding", "rob-admin", "--clusterrole=admin", "--user=rob")
	require.Contains(t, errOut, "is attempting to grant RBAC permissions not currently held")
	errOut = framework.KubectlFails(t, rob, "", "create", "rolebinding", "rob-edit", "-n", "default", "--clusterrole=edit", "--user=rob")
	require.Contains(t, errOut, "is attempting to grant RBAC permissions not currently held")
	errOut = framework.KubectlFails(t, rob, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"agg"},"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"x":"y"}}]}}`, "apply", "-f", "-")
	require.Contains(t, errOut, "must have escalate permission to set an aggregationRule")
	// Updating a harmless role into a powerful one is refused too.
	framework.Kubectl(t, rob, "create", "clusterrole", "cm-reader", "--verb=get", "--resource=configmaps")
	errOut = framework.KubectlFails(t, rob, "", "patch", "clusterrole", "cm-reader", "--type=json", "-p", `[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}}]`)
	require.Contains(t, errOut, "is attempting to grant RBAC permissions not currently held")
	// What rob holds he may pass on.
	framework.Kubectl(t, rob, "create", "clusterrolebinding", "vi-view", "--clusterrole=view", "--user=vi")
	framework.Kubectl(t, rob, "create", "clusterrolebinding", "vi-cm", "--clusterrole=cm-reader", "--user=vi")
	// Nothing was written by the refused requests.
	requireForbidden(t, userKubeconfig(t, org.Path, "rob"), "get", "secrets", "-n", "default")
	out := framework.Kubectl(t, org.Kubeconfig, "get", "clusterroles,clusterrolebindings", "-o", "name")
	require.NotContains(t, out, "secret-reader")
	require.NotContains(t, out, "rob-admin")
	require.NotContains(t, out, "/agg\n")

	// bind lets rob bind edit (and only edit); escalate lets him write any role.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "bind-edit", "--verb=bind", "--resource=clusterroles", "--resource-name=edit")
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "rob-bind", "--clusterrole=bind-edit", "--user=rob")
	kubectlEventually(t, rob, "create", "clusterrolebinding", "ed-edit", "--clusterrole=edit", "--user=ed")
	framework.KubectlFails(t, rob, "", "create", "clusterrolebinding", "rob-admin", "--clusterrole=admin", "--user=rob")
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "escalator", "--verb=escalate", "--resource=clusterroles")
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "rob-escalate", "--clusterrole=escalator", "--user=rob")
	kubectlEventually(t, rob, "create", "clusterrole", "secret-reader", "--verb=get", "--resource=secrets")

	// A local admin of the org cannot make an inherited binding: his admin stops at the org.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "lea", "--clusterrole=admin", "--user=lea")
	lea := userKubeconfig(t, org.Path, "lea")
	kubectlEventually(t, lea, "create", "clusterrolebinding", "local-view", "--clusterrole=view", "--user=x")
	errOut = framework.KubectlFails(t, lea, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"down","labels":{"accountmesh.io/inherit":"true"}},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"User","name":"x"}]}`, "apply", "-f", "-")
	require.Contains(t, errOut, "currently held through inherited bindings")
	errOut = framework.KubectlFails(t, lea, "", "label", "clusterrolebinding", "local-view", "accountmesh.io/inherit=true")
	require.Contains(t, errOut, "currently held through inherited bindings")
	// The owner's admin is inherited: she can.
	framework.KubectlStdin(t, userKubeconfig(t, org.Path, "oscar"), `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"down","labels":{"accountmesh.io/inherit":"true"}},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"User","name":"x"}]}`, "apply", "-f", "-")
	// Built-in role names are reserved.
	errOut = framework.KubectlFails(t, org.Kubeconfig, "", "create", "clusterrole", "admin", "--verb=get", "--resource=configmaps")
	require.Contains(t, errOut, "is a built-in ClusterRole")
}
