package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// holdFinalizer pins an object, and so its namespace, until the test releases it.
const holdFinalizer = "example.com/hold"

// TestNamespaceDeletionAcrossCrash deletes namespaces whose content is pinned by a finalizer,
// kills the server while they are Terminating, restarts it and releases the content: each
// namespace then goes, with nothing lost or left. One namespace has the form earlier versions
// created (the metadata finalizer "kubernetes" instead of the spec finalizer), which must still
// be deletable after an upgrade.
func TestNamespaceDeletionAcrossCrash(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := framework.StartServer(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	acc := s.CreateAccount(t, "root", "upgrade")

	current, legacy := "current", "legacy"
	for _, ns := range []string{current, legacy} {
		framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", ns)
		for _, cm := range []*corev1.ConfigMap{
			configMap("pinned", nil, map[string]string{"k": "v"}),
			configMap("plain", nil, map[string]string{"k": "v"}),
		} {
			if cm.Name == "pinned" {
				cm.Finalizers = []string{holdFinalizer}
			}
			_, err := acc.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	// The legacy form: no spec finalizer, the metadata finalizer "kubernetes".
	_, err = finalize(t, acc.Kube, legacy, func(ns *corev1.Namespace) { ns.Spec.Finalizers = nil })
	require.NoError(t, err)
	_, err = acc.Kube.CoreV1().Namespaces().Patch(ctx, legacy, types.MergePatchType, []byte(`{"metadata":{"finalizers":["kubernetes"]}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	for _, ns := range []string{current, legacy} {
		framework.Kubectl(t, acc.Kubeconfig, "delete", "namespace", ns, "--wait=false")
	}
	for _, ns := range []string{current, legacy} {
		waitContentRemaining(t, acc.Kube, ns)
	}

	s.Kill()
	require.NoError(t, s.Start(ctx))
	kube, err := kubernetes.NewForConfig(s.ConfigFor(acc.Path))
	require.NoError(t, err)
	for _, ns := range []string{current, legacy} {
		got, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		require.NoError(t, err, "the terminating namespace %s survives the crash", ns)
		require.Equal(t, corev1.NamespaceTerminating, got.Status.Phase)
		_, err = kube.CoreV1().ConfigMaps(ns).Get(ctx, "pinned", metav1.GetOptions{})
		require.NoError(t, err, "the pinned content of %s survives the crash", ns)
		_, err = kube.CoreV1().ConfigMaps(ns).Patch(ctx, "pinned", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	for _, ns := range []string{current, legacy} {
		framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
			_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "namespace %s was not deleted after its content was released", ns)
		list, err := kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, list.Items, "content of %s left behind", ns)
	}
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
}
