package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileTamper writes the cluster annotation with the write verbs and resource kinds that
// TestTamperClusterAnnotation (ConfigMaps) does not, as mia, a local admin, and tries the
// server-owned status of namespaces and child Accounts. Accepted writes must keep the object in
// mia's account, annotated with its own cluster ID, and stored under its key only.
func TestHostileTamper(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	kid := server.CreateAccount(t, a.Path, "kid")
	group := randomGroup()
	applyWidgetCRD(t, a, group, "")
	kubectlApply(t, a.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-admin
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
rules:
- {apiGroups: [`+group+`], resources: [widgets, widgets/status], verbs: ["*"]}
`)
	mia := framework.RandomName("mia-")
	grantRole(t, a, "admin", "--user="+mia, false)
	n := func(prefix string) string { return framework.RandomName(prefix) }
	cm, cm2, cm3, ns, cr, sa, lease, w := n("cm-"), n("cm-"), n("cm-"), n("ns-"), n("cr-"), n("sa-"), n("lease-"), n("w-")
	for _, name := range []string{cm, cm2, cm3} {
		_, err := a.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap(name, nil, map[string]string{"k": "v"}), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := a.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrole", cr, "--verb=get", "--resource=configmaps")
	_, err = a.Kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = a.Kube.CoordinationV1().Leases("default").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: lease}}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.KubectlStdin(t, a.Kubeconfig, widgetYAML(group, w, 1), "create", "-f", "-")

	m := certActor(t, mia)
	in := "/clusters/" + a.Path
	eventuallyAllowed(t, m, in+"/apis/"+group+"/v1/namespaces/default/widgets")
	ann := `"annotations":{"` + clusterAnnotation + `":"` + b.ClusterID + `"}`
	// kept checks the response and the storage of an accepted write: annotated with a's
	// cluster ID and stored under a's key only (resource and key suffix as in etcd).
	kept := func(resource, suffix string) (func(t *testing.T, body string), func(t *testing.T)) {
		return func(t *testing.T, body string) {
				t.Helper()
				var obj metav1.PartialObjectMetadata
				require.NoError(t, json.Unmarshal([]byte(body), &obj), body)
				require.Equal(t, a.ClusterID, obj.Annotations[clusterAnnotation], "response")
			}, func(t *testing.T) {
				t.Helper()
				requireStoredOnlyIn(t, a, resource, suffix)
			}
	}
	row := func(at attack, resource, suffix string) attack {
		at.as, at.mutates = m, true
		at.check, at.after = kept(resource, suffix)
		at.echoes = []string{b.ClusterID}
		return at
	}
	// untilReady lets an accepted child Account finish initializing before the next row takes
	// its snapshot: the initializers write its status.
	untilReady := func(at attack, name string) attack {
		after := at.after
		at.after = func(t *testing.T) {
			t.Helper()
			after(t)
			server.WaitForAccountReady(ctx, t, a.Path, name)
		}
		return at
	}
	widgets := in + "/apis/" + group + "/v1/namespaces/default/widgets"
	w2 := n("w-")
	k1 := n("k-")

	hostileTable(t, []attack{
		// R3: strategic merge patch.
		row(attack{name: "strategic merge patch", method: http.MethodPatch, path: in + "/api/v1/namespaces/default/configmaps/" + cm, header: strategicPatch,
			body: `{"metadata":{` + ann + `}}`, want: 200}, "configmaps", "/default/"+cm),
		// R3: strategic merge patch replacing all annotations.
		row(attack{name: "strategic $patch replace of annotations", method: http.MethodPatch, path: in + "/api/v1/namespaces/default/configmaps/" + cm2, header: strategicPatch,
			body: `{"metadata":{"annotations":{"$patch":"replace","x":"y"}}}`, want: 200}, "configmaps", "/default/"+cm2),
		// R3: JSON patch moving the annotation away.
		row(attack{name: "JSON patch move of the annotation", method: http.MethodPatch, path: in + "/api/v1/namespaces/default/configmaps/" + cm3, header: jsonPatch,
			body: `[{"op":"move","from":"/metadata/annotations/accountmesh.io~1cluster","path":"/metadata/annotations/moved"}]`, want: 200}, "configmaps", "/default/"+cm3),
		// R3: creating a Secret.
		row(attack{name: "create a Secret", method: http.MethodPost, path: in + "/api/v1/namespaces/default/secrets",
			body: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s-tamper",` + ann + `}}`, want: 201}, "secrets", "/default/s-tamper"),
		// R3: replacing a Namespace (cluster-scoped).
		row(attack{name: "update a Namespace", method: http.MethodPut, path: in + "/api/v1/namespaces/" + ns,
			body: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + ns + `",` + ann + `}}`, want: 200}, "namespaces", "/"+ns),
		// R3: merge patch of a ClusterRole.
		row(attack{name: "merge patch a ClusterRole", method: http.MethodPatch, path: in + "/apis/rbac.authorization.k8s.io/v1/clusterroles/" + cr, header: mergePatch,
			body: `{"metadata":{` + ann + `}}`, want: 200}, "clusterroles", "/"+cr),
		// R3: server-side apply creating a Role.
		row(attack{name: "apply a Role", method: http.MethodPatch, path: in + "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/r-tamper?fieldManager=mia", header: applyPatch,
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r-tamper","namespace":"default",` + ann + `},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]}`, want: 201}, "roles", "/default/r-tamper"),
		// R3: JSON patch adding annotations to a ServiceAccount.
		row(attack{name: "JSON patch a ServiceAccount", method: http.MethodPatch, path: in + "/api/v1/namespaces/default/serviceaccounts/" + sa, header: jsonPatch,
			body: `[{"op":"add","path":"/metadata/annotations","value":{"` + clusterAnnotation + `":"` + b.ClusterID + `"}}]`, want: 200}, "serviceaccounts", "/default/"+sa),
		// R3: replacing a Lease.
		row(attack{name: "update a Lease", method: http.MethodPut, path: in + "/apis/coordination.k8s.io/v1/namespaces/default/leases/" + lease,
			body: `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"` + lease + `","namespace":"default",` + ann + `}}`, want: 200}, "leases", "/default/"+lease),
		// R3: creating a custom resource (the dynamic handler).
		row(attack{name: "create a custom resource", method: http.MethodPost, path: widgets,
			body: `{"apiVersion":"` + group + `/v1","kind":"Widget","metadata":{"name":"w-tamper",` + ann + `},"spec":{"size":2}}`, want: 201}, "widgets", "/default/w-tamper"),
		// R3: the status subresource of a custom resource.
		row(attack{name: "custom resource status", method: http.MethodPatch, path: widgets + "/" + w + "/status", header: mergePatch,
			body: `{"metadata":{` + ann + `},"status":{"ready":"yes"}}`, want: 200}, "widgets", "/default/"+w),
		// R3: server-side apply of a custom resource.
		row(attack{name: "apply a custom resource", method: http.MethodPatch, path: widgets + "/" + w2 + "?fieldManager=mia", header: applyPatch,
			body: `{"apiVersion":"` + group + `/v1","kind":"Widget","metadata":{"name":"` + w2 + `","namespace":"default",` + ann + `},"spec":{"size":3}}`, want: 201}, "widgets", "/default/"+w2),
		// R3: a child Account (whose own cluster ID the server assigns).
		untilReady(row(attack{name: "create a child Account", method: http.MethodPost, path: in + "/apis/core.accountmesh.io/v1alpha1/accounts",
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"` + k1 + `",` + ann + `}}`, want: 201}, "accounts", "/"+k1), k1),
		// R3: namespace status is the server's.
		{name: "namespace status", as: m, method: http.MethodPatch, path: in + "/api/v1/namespaces/" + ns + "/status", header: mergePatch,
			body: `{"status":{"phase":"Terminating"}}`, want: 403},
		// R3: a child Account's status (its cluster ID) is the server's, even for the parent's admin.
		{name: "child Account status", as: m, method: http.MethodPatch, path: in + "/apis/core.accountmesh.io/v1alpha1/accounts/kid/status", header: mergePatch,
			body: `{"status":{"clusterID":"` + b.ClusterID + `","path":"` + b.Path + `"}}`, want: 403},
		// R3: nor can it be replaced.
		{name: "replace child Account status", as: m, method: http.MethodPut, path: in + "/apis/core.accountmesh.io/v1alpha1/accounts/kid/status",
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"kid"},"status":{"phase":"Ready","clusterID":"` + b.ClusterID + `"}}`, want: 403},
	}, []*framework.Account{a, b, kid}, []string{b.ClusterID})
}

// requireStoredOnlyIn requires that exactly one etcd key of the resource ends with suffix, the
// one under acc's cluster ID, and that the object stored there carries acc's cluster ID.
func requireStoredOnlyIn(t *testing.T, acc *framework.Account, resource, suffix string) {
	t.Helper()
	resp, err := etcdClient.Get(t.Context(), "/registry/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var keys []string
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		if strings.Contains(k, "/"+resource+"/") && strings.HasSuffix(k, suffix) {
			keys = append(keys, k)
		}
	}
	require.Len(t, keys, 1, "keys of %s%s: %v", resource, suffix, keys)
	require.Contains(t, keys[0], "/"+resource+"/"+acc.ClusterID+"/", "stored under another account")
	got, err := etcdClient.Get(t.Context(), keys[0])
	require.NoError(t, err)
	require.Len(t, got.Kvs, 1)
	var obj metav1.PartialObjectMetadata
	require.NoError(t, json.Unmarshal(got.Kvs[0].Value, &obj), "stored %s", keys[0])
	require.Equal(t, acc.ClusterID, obj.Annotations[clusterAnnotation], "annotation stored at %s", keys[0])
}
