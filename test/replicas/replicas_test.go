package replicas

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// mesh is one test's Account Mesh: replicas on the shared etcd cluster under a prefix of
// their own, with one cluster token.
type mesh struct {
	prefix    string
	tokenFile string
	extra     []string
	replicas  []*framework.Server
}

// newMesh starts n replicas at once, so that they race to bootstrap the shared credentials.
func newMesh(t testing.TB, n int, extra ...string) *mesh {
	t.Helper()
	m := &mesh{prefix: "/" + framework.RandomName("mesh-"), tokenFile: writeToken(t), extra: extra}
	m.replicas = make([]*framework.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { m.replicas[i], errs[i] = m.start(t, m.tokenFile) })
	}
	wg.Wait()
	for i := range n {
		if m.replicas[i] != nil {
			t.Cleanup(m.replicas[i].Stop)
		}
	}
	for _, err := range errs {
		require.NoError(t, err)
	}
	return m
}

// start starts one more replica of the mesh with the token in tokenFile. It listens on a port
// of its own that it keeps when restarted, as a load balancer in front expects.
func (m *mesh) start(t testing.TB, tokenFile string) (*framework.Server, error) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append(cluster.args(m.prefix), "--cluster-token-file", tokenFile, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	return framework.StartServer(t.Context(), t.TempDir(), append(args, m.extra...)...)
}

// writeToken writes a new random cluster token to a file.
func writeToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	f := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(f, []byte(hex.EncodeToString(b)+"\n"), 0o600))
	return f
}

// configAt returns the admin config of s, pointed at another replica's account pathOrID.
func configAt(s, other *framework.Server, pathOrID string) *rest.Config {
	cfg := s.ConfigFor(pathOrID)
	cfg.Host = other.URL(pathOrID)
	return cfg
}

// TestReplicasShareEverything runs two replicas that bootstrap together: they share the root
// account, the CA and the admin credentials (each writes an admin.kubeconfig for its own
// address, and either works against the other); an account created through one is seen by a
// watch on the other, and its objects and custom resources are served by both.
func TestReplicasShareEverything(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMesh(t, 2)
	a, b := m.replicas[0], m.replicas[1]
	require.NotEqual(t, a.BaseURL, b.BaseURL)
	for _, f := range []string{"ca.crt", "admin.crt", "admin.key", "service-account.key"} {
		fa, err := os.ReadFile(filepath.Join(a.RootDir, "pki", f))
		require.NoError(t, err)
		fb, err := os.ReadFile(filepath.Join(b.RootDir, "pki", f))
		require.NoError(t, err)
		require.Equal(t, fa, fb, "the replicas hold different %s", f)
	}
	// Each kubeconfig names its own replica; A's works against B.
	ka, err := clientcmd.LoadFromFile(a.Kubeconfig)
	require.NoError(t, err)
	require.Equal(t, a.URL("root"), ka.Clusters[ka.Contexts[ka.CurrentContext].Cluster].Server)
	ka.Clusters[ka.Contexts[ka.CurrentContext].Cluster].Server = b.URL("root")
	crossKubeconfig := filepath.Join(t.TempDir(), "a-at-b.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*ka, crossKubeconfig))
	rootID := framework.Kubectl(t, a.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}")
	require.Equal(t, rootID, framework.Kubectl(t, crossKubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}"))

	// A watch on B sees the account created through A become Ready.
	dynB, err := dynamic.NewForConfig(configAt(a, b, "root"))
	require.NoError(t, err)
	list, err := dynB.Resource(framework.AccountsGVR).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	w, err := dynB.Resource(framework.AccountsGVR).Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	require.NoError(t, err)
	defer w.Stop()
	acc := a.CreateAccount(t, "root", "acme")
	watchCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = watchtools.UntilWithoutRetry(watchCtx, w, func(e watch.Event) (bool, error) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok || u.GetName() != "acme" {
			return false, nil
		}
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		return phase == "Ready", nil
	})
	require.NoError(t, err, "the watch on the other replica did not see the account become Ready")

	// Objects and custom resources written through A are served by B.
	_, err = acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1ConfigMap, metav1.CreateOptions{})
	require.NoError(t, err)
	kubeB, err := kubernetes.NewForConfig(configAt(a, b, acc.Path))
	require.NoError(t, err)
	cm, err := kubeB.CoreV1().ConfigMaps("default").Get(ctx, corev1ConfigMap.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1ConfigMap.Data, cm.Data)
	framework.KubectlStdin(t, acc.Kubeconfig, widgetCRD, "apply", "-f", "-")
	framework.Kubectl(t, acc.Kubeconfig, "wait", "--for=condition=Established", "crd/widgets.replicas.example.com")
	framework.KubectlStdin(t, acc.Kubeconfig, "apiVersion: replicas.example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\nspec: {size: 3}\n", "create", "-f", "-")
	accAtB := b.WriteKubeconfig(t, acc.Path)
	framework.Eventually(t, time.Minute, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, accAtB, "", "get", "widgets", "w", "-o", "jsonpath={.spec.size}")
		return err == nil && out == "3", nil
	}, "the other replica does not serve the custom resource")
}

// TestReplicaWrongToken starts a replica with another token on a mesh: it refuses to start,
// says why, and writes nothing, neither to etcd nor under its root dir.
func TestReplicaWrongToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMesh(t, 1)
	// The running replica's controllers fill root's namespaces after it is ready: let them
	// finish, so that what they add is not taken for the refused replica's writes.
	kube, err := kubernetes.NewForConfig(m.replicas[0].ConfigFor("root"))
	require.NoError(t, err)
	for _, ns := range []string{"default", "accountmesh-system"} {
		framework.WaitForNamespaceDefaults(t, kube, ns)
	}
	before, err := cluster.client.Get(ctx, m.prefix, clientV3WithPrefix()...)
	require.NoError(t, err)

	dir := t.TempDir()
	args := append(cluster.args(m.prefix), "--cluster-token-file", writeToken(t))
	s, err := framework.StartServer(ctx, dir, args...)
	if s != nil {
		t.Cleanup(s.Stop)
	}
	require.Error(t, err)
	require.Contains(t, err.Error(), "the cluster token does not open the shared secrets stored in etcd")

	after, err := cluster.client.Get(ctx, m.prefix, clientV3WithPrefix()...)
	require.NoError(t, err)
	// The running replica may write (e.g. renew its lease), but no key is new and the
	// server's own records are untouched.
	require.ElementsMatch(t, keys(before.Kvs), keys(after.Kvs), "the refused replica added keys")
	require.Equal(t, keyRevisions(before.Kvs, m.prefix+"/accountmesh.io/"), keyRevisions(after.Kvs, m.prefix+"/accountmesh.io/"),
		"the refused replica changed the server's records")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.Equal(t, "server.log", e.Name(), "the refused replica wrote %s", e.Name())
	}
	// The mesh still serves.
	framework.Kubectl(t, m.replicas[0].Kubeconfig, "get", "accountinfo", "account")
}
