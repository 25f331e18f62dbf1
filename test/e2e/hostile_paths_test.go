package e2e

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostilePaths attacks the outer /clusters handler and the top-level endpoints with raw
// HTTP as mia, who administers one account (not inherited) and nothing else: path encodings,
// existence leaks, process endpoints, the wildcard and list tricks.
func TestHostilePaths(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, framework.RandomName("owner-"))
	a := server.CreateAccount(t, org.Path, "a")
	b := server.CreateAccount(t, org.Path, "b")
	c := server.CreateAccount(t, a.Path, "c")
	mia := framework.RandomName("mia-")
	nina := framework.RandomName("nina-")
	marker := framework.RandomName("leak-marker-")
	for _, acc := range []*framework.Account{org, b, c} {
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap(framework.RandomName("cm-"), nil, map[string]string{"v": marker}), metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = acc.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "exists"}, StringData: map[string]string{"v": marker}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	// mia's account holds five ConfigMaps of the test's and the CA bundle the server publishes.
	own := []string{"default/" + framework.RootCAConfigMap}
	for i := range 5 {
		name := "own-" + string(rune('0'+i))
		own = append(own, "default/"+name)
		_, err := a.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap(name, nil, map[string]string{"v": "mia's"}), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	framework.Kubectl(t, a.Kubeconfig, "create", "namespace", "private")
	framework.Kubectl(t, a.Kubeconfig, "create", "secret", "generic", "exists", "-n", "private", "--from-literal=v="+marker)
	group := randomGroup()
	publishDatabases(t, b, "db", group, "")
	grantRole(t, a, "admin", "--user="+mia, false)
	framework.Kubectl(t, a.Kubeconfig, "create", "rolebinding", "nina", "-n", "default", "--clusterrole=view", "--user="+nina)

	m := certActor(t, mia)
	n := certActor(t, nina)
	alice := tokenActor(t, "alice", aliceToken)
	in := func(acc *framework.Account) string { return "/clusters/" + acc.Path }
	cms := "/api/v1/namespaces/default/configmaps"
	eventuallyAllowed(t, m, in(a)+cms)
	eventuallyAllowed(t, n, in(a)+cms)

	bList, err := b.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	aList, err := a.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	continueToken := func(start string) string {
		return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v1","rv":` + aList.ResourceVersion + `,"start":"` + start + `"}`)))
	}
	onlyOwnNames := func(t *testing.T, body string) {
		t.Helper()
		for _, name := range listNames(t, body) {
			require.Contains(t, own, name)
		}
	}
	accounts := "/apis/core.accountmesh.io/v1alpha1/accounts"
	view := "/services/export/" + b.Path

	hostileTable(t, []attack{
		// R1: path case: account paths are lower case, so the sibling's path in upper case is another (absent) account.
		{name: "sibling path in upper case", as: m, path: "/clusters/" + strings.ToUpper(b.Path) + cms, want: 403},
		// R1: cluster IDs are case-sensitive.
		{name: "sibling cluster ID in upper case", as: m, path: "/clusters/" + strings.ToUpper(b.ClusterID) + cms, want: 403},
		// R1: encoded colons in lower-case hex.
		{name: "lower-case %3a in the sibling path", as: m, path: "/clusters/" + strings.ReplaceAll(b.Path, ":", "%3a") + cms, want: 403},
		// R1: a double slash before the prefix does not address an account.
		{name: "double slash before /clusters", as: m, path: "//clusters/" + b.Path + cms, want: 403},
		// R1: an empty account segment is no account.
		{name: "empty account segment", as: m, path: "/clusters//" + b.Path + cms, want: 403},
		// R1: dot segments after the prefix cannot climb back out of the account.
		{name: "dot segments after the own account", as: m, path: in(a) + "/api/v1/../../../clusters/" + b.Path + cms, want: 403},
		// R1: encoded dot segments.
		{name: "encoded dot segments %2e%2e", as: m, path: in(a) + "/%2e%2e/" + b.Path + cms, want: 403},
		// R1: backslashes are not separators.
		{name: "backslash dot-dot", as: m, path: in(a) + `\..\` + b.Path + cms, want: 403},
		// R1: a path parameter does not split the account name.
		{name: "semicolon path parameter", as: m, path: "/clusters/" + b.Path + ";" + a.Path + cms, want: 403},
		// R1: a NUL byte does not end the account name.
		{name: "NUL byte in the account", as: m, path: in(a) + "%00" + b.Path + cms, want: 403},
		// R1: a fullwidth colon is no separator.
		{name: "fullwidth colon", as: m, path: "/clusters/" + strings.ReplaceAll(b.Path, ":", "：") + cms, want: 403},
		// R1: a cluster ID appended to the own path.
		{name: "own path then the sibling's ID", as: m, path: in(a) + ":" + b.ClusterID + cms, want: 403},
		// R1: proxy headers do not re-address the request.
		{name: "X-Original-URL and X-Forwarded-Prefix", as: m, path: in(a) + cms,
			header: http.Header{"X-Original-Url": {in(b) + cms}, "X-Forwarded-Prefix": {in(b)}, "X-Rewrite-Url": {in(b) + cms}}, want: 200, check: onlyOwn(own...)},
		// R1: an account in the query string is ignored.
		{name: "account in the query string", as: m, path: in(a) + cms + "?cluster=" + b.ClusterID + "&account=" + b.Path, want: 200, check: onlyOwn(own...)},
		// R1: a view URL inside an account is no view.
		{name: "view URL inside an account", as: m, path: in(a) + view + "/db/clusters/*/apis/" + group + "/v1/databases", want: 403},
		// R8: a view of an export whose content mia may not read.
		{name: "view of the sibling's export", as: m, path: view + "/db/clusters/*/apis/" + group + "/v1/databases", want: 403},

		// R2: an Account object in the parent: existing and absent read alike.
		{name: "sibling Account object vs absent", as: m, path: in(org) + accounts + "/b", absent: in(org) + accounts + "/nope-zz", presentName: "b", absentName: "nope-zz", want: 403},
		// R2: a secret in a child account mia cannot reach.
		{name: "child's secret vs absent", as: m, path: in(c) + "/api/v1/namespaces/default/secrets/exists",
			absent: in(c) + "/api/v1/namespaces/default/secrets/missing", presentName: "exists", absentName: "missing", want: 403},
		// R2: a secret in a namespace nina cannot read, in an account she can.
		{name: "secret in a forbidden namespace vs absent", as: n, path: in(a) + "/api/v1/namespaces/private/secrets/exists",
			absent: in(a) + "/api/v1/namespaces/private/secrets/missing", presentName: "exists", absentName: "missing", want: 403},
		// R2: a namespace nina cannot read.
		{name: "namespace vs absent", as: n, path: in(a) + "/api/v1/namespaces/private",
			absent: in(a) + "/api/v1/namespaces/nosuchns", presentName: "private", absentName: "nosuchns", want: 403},
		// R2: an export in the view: existing and absent read alike.
		{name: "view export vs absent", as: m, path: view + "/db/clusters/*/apis/" + group + "/v1/databases",
			absent: view + "/nope/clusters/*/apis/" + group + "/v1/databases", presentName: "/db/", absentName: "/nope/", want: 403},
		// R2: a provider by cluster ID in the view.
		{name: "view provider ID vs absent", as: m, path: "/services/export/" + b.ClusterID + "/db/clusters/*/api",
			absent: "/services/export/zzzzzzzzzzzzzzzz/db/clusters/*/api", presentName: b.ClusterID, absentName: "zzzzzzzzzzzzzzzz", want: 403},
		// R2, R8: binding an export by the provider's cluster ID reads like an absent ID.
		{name: "bind by provider ID vs absent ID", as: m, method: http.MethodPost, path: in(a) + "/apis/apis.accountmesh.io/v1alpha1/apibindings",
			body:   `{"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"APIBinding","metadata":{"name":"x"},"spec":{"reference":{"export":{"path":"` + b.ClusterID + `","name":"db"}}}}`,
			absent: in(a) + "/apis/apis.accountmesh.io/v1alpha1/apibindings", presentName: b.ClusterID, absentName: "zzzzzzzzzzzzzzzz", want: 422},

		// R11: process metrics.
		{name: "metrics", as: m, path: "/metrics", want: 403},
		// R11: the profiler index.
		{name: "pprof index", as: m, path: "/debug/pprof/", want: 403},
		// R11: a CPU profile.
		{name: "pprof profile", as: m, path: "/debug/pprof/profile?seconds=1", want: 403},
		// R11: changing the log level.
		{name: "set the log level", as: m, method: http.MethodPut, path: "/debug/flags/v", body: "9", header: http.Header{"Content-Type": {"text/plain"}}, want: 403},
		// R11: component configuration.
		{name: "configz", as: m, path: "/configz", want: 403},
		// R11: the process's log files.
		{name: "logs", as: m, path: "/logs/", want: 403},
		// R11: flags and status pages.
		{name: "flagz and statusz", as: m, path: "/flagz", want: 403},
		// R11: metrics through the own account, where mia is admin.
		{name: "metrics inside the own account", as: m, path: in(a) + "/metrics", want: 403},
		// R11: the profiler through the own account.
		{name: "pprof inside the own account", as: m, path: in(a) + "/debug/pprof/goroutine?debug=2", want: 403},
		// R11: the log level through the own account.
		{name: "log level inside the own account", as: m, method: http.MethodPut, path: in(a) + "/debug/flags/v", body: "9", header: http.Header{"Content-Type": {"text/plain"}}, want: 403},
		// R11, R9: metrics through the wildcard.
		{name: "metrics through the wildcard", as: m, path: "/clusters/*/metrics", want: 403},
		// R11, R4: a static token user.
		{name: "metrics with a static token", as: alice, path: "/metrics", want: 403},

		// R9: the wildcard over accounts.
		{name: "wildcard accounts", as: m, path: "/clusters/*" + accounts, want: 403},
		// R9: a wildcard watch of secrets.
		{name: "wildcard secrets watch", as: m, path: "/clusters/*/api/v1/secrets?watch=true&timeoutSeconds=1", want: 403},
		// R9: wildcard discovery.
		{name: "wildcard discovery", as: m, path: "/clusters/*/apis", want: 403},
		// R9, R4: the wildcard with a static token.
		{name: "wildcard with a static token", as: alice, path: "/clusters/*/api/v1/configmaps", want: 403},
		// R9: a crafted continue token climbing out of the account's key prefix.
		{name: "continue token with dot-dot", as: m, path: in(a) + cms + "?limit=2&continue=" + continueToken("../"+b.ClusterID+"/default/"), want: 400, echoes: []string{b.ClusterID}},
		// R9: a crafted continue token naming the sibling's key stays inside the own prefix.
		{name: "continue token with the sibling's key", as: m, path: in(a) + cms + "?limit=50&continue=" + continueToken(b.ClusterID+"/default/a"), want: 200, check: onlyOwnNames},
		// R9: a list at the sibling's resourceVersion.
		{name: "list at the sibling's resourceVersion", as: m, path: in(a) + cms + "?resourceVersion=" + bList.ResourceVersion + "&resourceVersionMatch=NotOlderThan", want: 200, check: onlyOwn(own...)},
		// R9: the cluster annotation is no field selector.
		{name: "field selector on the cluster annotation", as: m, path: in(a) + cms + "?fieldSelector=" + url.QueryEscape("metadata.annotations.accountmesh.io/cluster="+b.ClusterID), want: 400},
		// R9: nor a label selector that reaches other accounts.
		{name: "label selector on the cluster annotation", as: m, path: in(a) + "/api/v1/configmaps?labelSelector=" + url.QueryEscape(clusterAnnotation+"="+b.ClusterID), want: 200, check: onlyOwn()},
	}, []*framework.Account{org, a, b, c}, []string{marker, b.ClusterID, org.ClusterID, c.ClusterID})
}
