package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileNamespaces attacks what namespaces added to the surface, as mia, the admin of
// account a: the finalize subresource (R3: a namespace's spec finalizers are the server's; R2:
// in another account it is denied like an absent namespace), and the controllers that keep a
// default ServiceAccount and the kube-root-ca.crt ConfigMap in every namespace (R15): mia may
// change or delete them in her account, they come back as they were, and nothing she writes,
// not even another account's cluster annotation, makes a controller write into that account.
func TestHostileNamespaces(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	const ns = "shared"
	for _, acc := range []*framework.Account{a, b} {
		framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", ns)
		framework.WaitForNamespaceDefaults(t, acc.Kube, ns)
	}
	bundle := rootCABundle(t, a.Kube, ns, "")
	mia := framework.RandomName("mia-")
	grantRole(t, a, "admin", "--user="+mia, false)
	m := certActor(t, mia)
	inA, inB := "/clusters/"+a.Path, "/clusters/"+b.Path
	eventuallyAllowed(t, m, inA+"/api/v1/namespaces/"+ns+"/configmaps")
	finalizeBody := func(name string) string {
		return `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + name + `"},"spec":{"finalizers":[]}}`
	}
	missing := framework.RandomName("missing-")

	hostileTable(t, []attack{
		// R3: a namespace's spec finalizers are the server's, even for the account's admin.
		{name: "finalize own namespace", as: m, method: http.MethodPut, path: inA + "/api/v1/namespaces/" + ns + "/finalize",
			body: finalizeBody(ns), want: 403},
		// R2: finalize in another account is denied like finalize of an absent namespace there.
		{name: "finalize another account's namespace", as: m, method: http.MethodPut, path: inB + "/api/v1/namespaces/" + ns + "/finalize",
			body: finalizeBody(ns), want: 403,
			absent: inB + "/api/v1/namespaces/" + missing + "/finalize", absentName: missing, presentName: ns},
		// R3: the finalize subresource takes no patch, whoever asks.
		{name: "patch finalize", as: m, method: http.MethodPatch, path: inA + "/api/v1/namespaces/" + ns + "/finalize",
			header: mergePatch, body: `{"spec":{"finalizers":[]}}`, want: 403, alsoOK: []int{405}},
	}, []*framework.Account{a, b}, []string{b.ClusterID})

	// What the controllers keep in b, which no write in a may touch.
	before := snapshot(t, b)
	bCM, err := b.Kube.CoreV1().ConfigMaps(ns).Get(ctx, framework.RootCAConfigMap, metav1.GetOptions{})
	require.NoError(t, err)
	bSA, err := b.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, framework.DefaultServiceAccount, metav1.GetOptions{})
	require.NoError(t, err)
	untouchedB := func(t *testing.T) {
		t.Helper()
		// Give a misdirected write time to happen before comparing.
		require.Never(t, func() bool {
			cm, err := b.Kube.CoreV1().ConfigMaps(ns).Get(ctx, framework.RootCAConfigMap, metav1.GetOptions{})
			return err != nil || cm.ResourceVersion != bCM.ResourceVersion
		}, time.Second, 100*time.Millisecond, "the bundle ConfigMap of b changed")
		require.Equal(t, before, snapshot(t, b), "account b changed")
		sa, err := b.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, framework.DefaultServiceAccount, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, bSA.UID, sa.UID)
	}
	restoredA := func(t *testing.T) {
		t.Helper()
		rootCABundle(t, a.Kube, ns, bundle)
		defaultServiceAccount(t, a.Kube, ns)
		cm, err := a.Kube.CoreV1().ConfigMaps(ns).Get(ctx, framework.RootCAConfigMap, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, a.ClusterID, cm.Annotations[clusterAnnotation], "the bundle of a stays in a")
	}
	restoredAUntouchedB := func(t *testing.T) {
		t.Helper()
		restoredA(t)
		untouchedB(t)
	}
	cmPath := inA + "/api/v1/namespaces/" + ns + "/configmaps"
	forged := `"annotations":{"` + clusterAnnotation + `":"` + b.ClusterID + `"}`
	hostileTable(t, []attack{
		// R15: other content under b's cluster annotation: a's bundle comes back, b is untouched.
		{name: "tamper the bundle with another account's annotation", as: m, method: http.MethodPatch,
			path: cmPath + "/" + framework.RootCAConfigMap, header: mergePatch,
			body: `{"metadata":{` + forged + `},"data":{"ca.crt":"attacker CA"}}`, want: 200, mutates: true,
			after: restoredAUntouchedB},
		// R15: an immutable replacement is replaced.
		{name: "freeze the bundle", as: m, method: http.MethodPatch, path: cmPath + "/" + framework.RootCAConfigMap, header: mergePatch,
			body: `{"data":{"ca.crt":"attacker CA"},"immutable":true}`, want: 200, mutates: true,
			after: restoredAUntouchedB},
		// R15: a deleted bundle and ServiceAccount come back in a only.
		{name: "delete the bundle", as: m, method: http.MethodDelete, path: cmPath + "/" + framework.RootCAConfigMap, want: 200, mutates: true,
			after: restoredAUntouchedB},
		{name: "delete the default ServiceAccount", as: m, method: http.MethodDelete,
			path: inA + "/api/v1/namespaces/" + ns + "/serviceaccounts/" + framework.DefaultServiceAccount, want: 200, mutates: true,
			after: restoredAUntouchedB},
		// R15: a namespace created under b's annotation is a's: its defaults go to a.
		{name: "namespace with another account's annotation", as: m, method: http.MethodPost, path: inA + "/api/v1/namespaces",
			body: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"forged",` + forged + `}}`, want: 201, mutates: true,
			after: func(t *testing.T) {
				t.Helper()
				framework.WaitForNamespaceDefaults(t, a.Kube, "forged")
				untouchedB(t)
			}},
	}, []*framework.Account{a}, []string{b.ClusterID})
}
