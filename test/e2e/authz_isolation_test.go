package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// battery is one identity's raw HTTP access to the server: paths are sent exactly as written,
// encoded characters and dot segments included.
type battery struct {
	t  *testing.T
	hc *http.Client
}

func newBattery(t *testing.T, cfg *rest.Config) *battery {
	t.Helper()
	tlsCfg, err := rest.TLSConfigFor(cfg)
	require.NoError(t, err)
	return &battery{t: t, hc: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone(), ForceAttemptHTTP2: true}}}
}

func (b *battery) do(method, rawPath string, header http.Header, body string) (int, string) {
	b.t.Helper()
	base, err := url.Parse(server.BaseURL)
	require.NoError(b.t, err)
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Opaque: "//" + base.Host + rawPath}
	req, err := http.NewRequestWithContext(b.t.Context(), method, u.String(), bytes.NewBufferString(body))
	require.NoError(b.t, err)
	req.URL = u
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.hc.Do(req)
	require.NoError(b.t, err)
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(out)
}

// TestAuthzIsolationBattery makes more than 30 attempts to cross account boundaries as eve,
// who administers one account (not inherited) and nothing else. Every attempt must be refused
// and no response may carry data of another account.
func TestAuthzIsolationBattery(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	eve := framework.RandomName("eve-")
	org := newOrg(t, framework.RandomName("owner-"))
	kubectlApply(t, org.Kubeconfig, accountYAML("a", "", "")) // owned by the admin
	kubectlApply(t, org.Kubeconfig, accountYAML("b", "", ""))
	a := server.WaitForAccountReady(ctx, t, org.Path, "a")
	b := server.WaitForAccountReady(ctx, t, org.Path, "b")
	kubectlApply(t, a.Kubeconfig, accountYAML("c", "", ""))
	c := server.WaitForAccountReady(ctx, t, a.Path, "c")
	framework.KubectlStdin(t, org.Kubeconfig, `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"special"},"spec":{"extends":"account"}}`, "apply", "-f", "-")

	// Data eve must never see: a marker in every account but hers.
	marker := framework.RandomName("leak-marker-")
	for _, acc := range []*framework.Account{org, b, c} {
		for i := 0; i < 3; i++ {
			_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: framework.RandomName("cm-")}, Data: map[string]string{"v": marker}}, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	_, err := a.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mine"}, Data: map[string]string{"v": "eve's"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrole", "p-secrets", "--verb=*", "--resource=secrets")
	// Grants elsewhere that must not reach eve's account or the org.
	framework.Kubectl(t, b.Kubeconfig, "create", "clusterrolebinding", "sibling", "--clusterrole=admin", "--user="+eve+"-sibling")
	framework.Kubectl(t, b.Kubeconfig, "label", "clusterrolebinding", "sibling", "accountmesh.io/inherit=true")
	framework.Kubectl(t, c.Kubeconfig, "create", "clusterrolebinding", "child", "--clusterrole=admin", "--user="+eve+"-child")
	framework.Kubectl(t, c.Kubeconfig, "label", "clusterrolebinding", "child", "accountmesh.io/inherit=true")
	// eve's own grant: admin in a, not inherited.
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrolebinding", "eve", "--clusterrole=admin", "--user="+eve)
	eveKC := userKubeconfig(t, a.Path, eve)
	kubectlEventually(t, eveKC, "get", "configmap", "mine", "-n", "default")
	kubectlEventually(t, userKubeconfig(t, c.Path, eve+"-child"), "get", "configmaps", "-n", "default")
	kubectlEventually(t, userKubeconfig(t, b.Path, eve+"-sibling"), "get", "configmaps", "-n", "default")

	// Tokens and resource versions minted in another account.
	first, err := b.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, first.Continue)
	bRV := first.ResourceVersion

	e := newBattery(t, userConfig(t, a.Path, eve))
	anon := newBattery(t, rest.AnonymousClientConfig(server.Config))
	cms := "/api/v1/namespaces/default/configmaps"
	in := func(acc *framework.Account) string { return "/clusters/" + acc.Path }
	unknown := "/clusters/" + org.Path + ":nope"
	denied := []int{http.StatusForbidden}
	deniedOrGone := []int{http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest, http.StatusGone}
	for _, tc := range []struct {
		name    string
		b       *battery
		method  string
		path    string
		header  http.Header
		body    string
		allowed []int // status codes that count as refused; empty means 403
		// ok is for requests that succeed inside eve's own account: they must show only her data.
		ok bool
	}{
		{name: "parent configmaps", path: in(org) + cms},
		{name: "sibling configmaps", path: in(b) + cms},
		{name: "child configmaps: a plain binding does not flow down", path: in(c) + cms},
		{name: "parent by cluster ID", path: "/clusters/" + org.ClusterID + cms},
		{name: "sibling by cluster ID", path: "/clusters/" + b.ClusterID + cms},
		{name: "unknown account", path: unknown + cms},
		{name: "dot-dot to the sibling", path: in(a) + "/../" + b.Path + cms, allowed: deniedOrGone},
		{name: "dot-dot inside the path", path: "/clusters/" + a.Path + ":..:b" + cms},
		{name: "encoded colon to the sibling", path: "/clusters/" + strings.ReplaceAll(b.Path, ":", "%3A") + cms},
		{name: "encoded slash and dot-dot", path: "/clusters/" + a.Path + "%2F..%2F" + b.Path + cms, allowed: deniedOrGone},
		{name: "encoded slash inside the account", path: in(a) + "%2F" + cms, allowed: deniedOrGone},
		{name: "trailing slash on the sibling", path: in(b) + cms + "/"},
		{name: "double slash after the sibling", path: in(b) + "/" + cms},
		{name: "sibling root path", path: in(b) + "/"},
		{name: "sibling discovery", path: in(b) + "/apis"},
		{name: "sibling openapi", path: in(b) + "/openapi/v3"},
		{name: "sibling openapi v2", path: in(b) + "/openapi/v2"},
		{name: "wildcard list", path: "/clusters/*" + cms},
		{name: "wildcard list encoded", path: "/clusters/%2A/api/v1/configmaps"},
		{name: "wildcard watch", path: "/clusters/*/api/v1/configmaps?watch=true&timeoutSeconds=1"},
		{name: "wildcard write", method: http.MethodPost, path: "/clusters/*" + cms, body: `{"metadata":{"name":"x"}}`, allowed: []int{http.StatusMethodNotAllowed}},
		{name: "continue token of the sibling, here", path: in(a) + cms + "?limit=5&continue=" + url.QueryEscape(first.Continue), allowed: deniedOrGone, ok: true},
		{name: "continue token of the sibling, there", path: in(b) + cms + "?limit=5&continue=" + url.QueryEscape(first.Continue)},
		{name: "watch from the sibling's resourceVersion, here", path: in(a) + cms + "?watch=true&timeoutSeconds=1&resourceVersion=" + bRV, ok: true},
		{name: "watch in the sibling", path: in(b) + cms + "?watch=true&timeoutSeconds=1&resourceVersion=" + bRV},
		{name: "impersonate the org owner", path: in(a) + cms, header: http.Header{"Impersonate-User": {"accountmesh-admin"}}},
		{name: "impersonate system:masters", path: in(b) + cms, header: http.Header{"Impersonate-User": {eve}, "Impersonate-Group": {"system:masters"}}},
		{name: "impersonate a ServiceAccount", path: in(a) + cms, header: http.Header{"Impersonate-User": {"system:serviceaccount:default:default"}}},
		{name: "sibling's Account object in the parent", path: in(org) + "/apis/core.accountmesh.io/v1alpha1/accounts/b"},
		{name: "sibling's AccountInfo", path: in(b) + "/apis/core.accountmesh.io/v1alpha1/accountinfos/account"},
		{name: "delete the sibling", method: http.MethodDelete, path: in(org) + "/apis/core.accountmesh.io/v1alpha1/accounts/b"},
		{name: "patch own Account status in the parent", method: http.MethodPatch, path: in(org) + "/apis/core.accountmesh.io/v1alpha1/accounts/a/status",
			header: http.Header{"Content-Type": {"application/merge-patch+json"}}, body: `{"status":{"phase":"Ready"}}`},
		{name: "grants of the sibling", path: in(b) + "/apis/authorization.accountmesh.io/v1alpha1/accessgrants"},
		{name: "accessible accounts of the parent", path: in(org) + "/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts"},
		{name: "can-i in the sibling", method: http.MethodPost, path: in(b) + "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"default"}}`},
		{name: "escalate: a role with every right", method: http.MethodPost, path: in(a) + "/apis/rbac.authorization.k8s.io/v1/clusterroles",
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"all"},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}`},
		{name: "escalate: an inherited admin binding from a local admin", method: http.MethodPost, path: in(a) + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"down","labels":{"accountmesh.io/inherit":"true"}},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"User","name":"` + eve + `"}]}`},
		{name: "escalate: bind a role of the parent, which does not exist here", method: http.MethodPost, path: in(a) + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"p"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"p-secrets"},"subjects":[{"kind":"User","name":"x"}]}`},
		{name: "forbidden account type: org below an account", method: http.MethodPost, path: in(a) + "/apis/core.accountmesh.io/v1alpha1/accounts",
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"o"},"spec":{"type":"org"}}`, allowed: []int{http.StatusUnprocessableEntity}},
		{name: "forbidden account type: the org's type without use", method: http.MethodPost, path: in(a) + "/apis/core.accountmesh.io/v1alpha1/accounts",
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"s"},"spec":{"type":"special"}}`, allowed: []int{http.StatusUnprocessableEntity}},
		{name: "create an account in the sibling", method: http.MethodPost, path: in(b) + "/apis/core.accountmesh.io/v1alpha1/accounts",
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"x"}}`},
		{name: "anonymous in her account", b: anon, path: in(a) + cms, allowed: []int{http.StatusUnauthorized}},
		{name: "anonymous in an unknown account", b: anon, path: unknown + cms, allowed: []int{http.StatusUnauthorized}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := tc.b
			if bt == nil {
				bt = e
			}
			bt.t = t
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			code, body := bt.do(method, tc.path, tc.header, tc.body)
			t.Logf("%s %s → %d", method, tc.path, code)
			require.NotContains(t, body, marker, "%s %s leaked data of another account", method, tc.path)
			require.NotContains(t, body, b.ClusterID)
			require.NotContains(t, body, org.ClusterID)
			if tc.ok && code == http.StatusOK {
				return
			}
			allowed := tc.allowed
			if len(allowed) == 0 {
				allowed = denied
			}
			require.Contains(t, allowed, code, "%s %s: %s", method, tc.path, body)
		})
	}

	// Refused writes changed nothing; the tampered annotation keeps objects at home.
	out := framework.Kubectl(t, a.Kubeconfig, "get", "clusterroles,clusterrolebindings,accounts", "-o", "name")
	for _, name := range []string{"clusterrole.rbac.authorization.k8s.io/all\n", "clusterrolebinding.rbac.authorization.k8s.io/down\n", "clusterrolebinding.rbac.authorization.k8s.io/p\n", "account.core.accountmesh.io/o\n", "account.core.accountmesh.io/s\n"} {
		require.NotContains(t, out, name)
	}
	framework.KubectlFails(t, b.Kubeconfig, "", "get", "account", "x")
	framework.KubectlStdin(t, eveKC, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tampered","namespace":"default","annotations":{"accountmesh.io/cluster":"`+b.ClusterID+`"}}}`, "apply", "-f", "-")
	framework.KubectlFails(t, b.Kubeconfig, "", "get", "configmap", "tampered", "-n", "default")
	require.Equal(t, a.ClusterID, framework.Kubectl(t, eveKC, "get", "configmap", "tampered", "-n", "default", "-o", `jsonpath={.metadata.annotations.accountmesh\.io/cluster}`))
	// The child's inherited grant reaches nothing above it; the sibling's nothing beside it.
	requireForbidden(t, userKubeconfig(t, a.Path, eve+"-child"), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, org.Path, eve+"-child"), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, a.Path, eve+"-sibling"), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, org.Path, eve+"-sibling"), "get", "configmaps", "-n", "default")
	requireForbidden(t, userKubeconfig(t, org.Path, eve), "get", "configmaps", "-n", "default")
	// eve's accessible accounts: hers, nothing else.
	out = framework.Kubectl(t, userKubeconfig(t, "root", eve), "get", "accessibleaccounts", "-o", "name")
	require.Equal(t, "accessibleaccount.authorization.accountmesh.io/"+a.Path+"\n", out)
	// In root, where she has no grant, she may ask who she is, and learns nothing else; in an
	// account of someone else she may not.
	require.Contains(t, framework.Kubectl(t, userKubeconfig(t, "root", eve), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"), eve)
	errOut := framework.KubectlFails(t, userKubeconfig(t, b.Path, eve), `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`,
		"create", "--raw", "/clusters/"+b.Path+"/apis/authentication.k8s.io/v1/selfsubjectreviews", "-f", "-")
	require.Contains(t, errOut, "Forbidden")
}
