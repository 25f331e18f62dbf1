package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/pkg/etcd"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// holdFinalizer pins an object, and so its namespace, until the test releases it.
const holdFinalizer = "example.com/hold"

// TestNamespaceUpgradeAndCrash stops a server by a crash while a namespace is Terminating,
// rewrites two namespaces in etcd into the form earlier versions stored (the metadata
// finalizer "kubernetes" instead of the spec finalizer; one of them deleted, with its content
// pinned), and starts the server again, as an upgrade does. Nothing is lost: the active legacy
// namespace gets the spec finalizer in place of the metadata one, and once their content is
// released the deleted namespaces go, with nothing left.
func TestNamespaceUpgradeAndCrash(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	e, err := etcd.StartEmbedded(ctx, filepath.Join(dir, "etcd"))
	require.NoError(t, err)
	t.Cleanup(e.Close)
	etcdc, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = etcdc.Close() })
	s, err := framework.StartServer(ctx, filepath.Join(dir, "server"), "--etcd-servers", e.Endpoint)
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	acc := s.CreateAccount(t, "root", "upgrade")

	current, legacyActive, legacyDeleted := "current", "legacy-active", "legacy-deleted"
	for _, ns := range []string{current, legacyActive, legacyDeleted} {
		framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", ns)
		pinned := configMap("pinned", nil, map[string]string{"k": "v"})
		pinned.Finalizers = []string{holdFinalizer}
		for _, cm := range []*corev1.ConfigMap{pinned, configMap("plain", nil, map[string]string{"k": "v"})} {
			_, err := acc.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	framework.Kubectl(t, acc.Kubeconfig, "delete", "namespace", current, "--wait=false")
	waitContentRemaining(t, acc.Kube, current)

	s.Kill()
	// What an earlier version stored: no spec finalizer, the metadata finalizer "kubernetes";
	// a namespace it was deleting also has its deletion timestamp and phase.
	deletedAt := metav1.Now().UTC().Format(time.RFC3339)
	rewriteNamespace(t, etcdc, acc.ClusterID, legacyActive, func(ns map[string]any) {
		meta := ns["metadata"].(map[string]any)
		meta["finalizers"] = []string{"kubernetes"}
		delete(ns, "spec")
	})
	rewriteNamespace(t, etcdc, acc.ClusterID, legacyDeleted, func(ns map[string]any) {
		meta := ns["metadata"].(map[string]any)
		meta["finalizers"] = []string{"kubernetes"}
		meta["deletionTimestamp"] = deletedAt
		meta["deletionGracePeriodSeconds"] = 0
		delete(ns, "spec")
		ns["status"] = map[string]any{"phase": "Terminating"}
	})
	require.NoError(t, s.Start(ctx))
	kube, err := kubernetes.NewForConfig(s.ConfigFor(acc.Path))
	require.NoError(t, err)

	// The active legacy namespace becomes a current one.
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := kube.CoreV1().Namespaces().Get(ctx, legacyActive, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(ns.Finalizers) == 0 && len(ns.Spec.Finalizers) == 1 && ns.Spec.Finalizers[0] == corev1.FinalizerKubernetes, nil
	}, "the legacy namespace was not migrated")
	framework.Kubectl(t, s.WriteKubeconfig(t, acc.Path), "delete", "namespace", legacyActive, "--wait=false")
	// The deleted ones are still there, with their pinned content; releasing it lets them go.
	for _, ns := range []string{current, legacyActive, legacyDeleted} {
		waitContentRemaining(t, kube, ns)
		_, err = kube.CoreV1().ConfigMaps(ns).Patch(ctx, "pinned", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	for _, ns := range []string{current, legacyActive, legacyDeleted} {
		framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
			_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "namespace %s was not deleted after its content was released", ns)
		list, err := kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, list.Items, "content of %s left behind", ns)
	}
	resp, err := etcdc.Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	for _, kv := range resp.Kvs {
		for _, ns := range []string{current, legacyActive, legacyDeleted} {
			require.NotContains(t, string(kv.Key), "/"+acc.ClusterID+"/"+ns+"/", "key left in etcd")
		}
	}
}

// rewriteNamespace changes the stored JSON of a namespace of account id in etcd.
func rewriteNamespace(t *testing.T, etcdc *clientv3.Client, id, name string, change func(map[string]any)) {
	t.Helper()
	resp, err := etcdc.Get(t.Context(), "/registry/", clientv3.WithPrefix())
	require.NoError(t, err)
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		if !strings.Contains(key, "/namespaces/"+id+"/") || !strings.HasSuffix(key, "/"+name) {
			continue
		}
		var ns map[string]any
		require.NoError(t, json.Unmarshal(kv.Value, &ns), "the namespace %s is stored as JSON", key)
		change(ns)
		value, err := json.Marshal(ns)
		require.NoError(t, err)
		_, err = etcdc.Put(t.Context(), key, string(value))
		require.NoError(t, err)
		return
	}
	require.Failf(t, "namespace not found in etcd", "%s in %s", name, id)
}

// waitContentRemaining waits until a deleted namespace reports content that its finalizer
// holds, and checks that the rest of its content is gone.
func waitContentRemaining(t *testing.T, kube kubernetes.Interface, name string) {
	t.Helper()
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}, "namespace %s does not report its pinned content", name)
	list, err := kube.CoreV1().ConfigMaps(name).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1, "only the pinned object is left in %s", name)
	require.Equal(t, "pinned", list.Items[0].Name)
}
