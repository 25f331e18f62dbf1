package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestNamespaceDeletion deletes a namespace with content and checks that the content goes with
// it, that nothing can be created in a missing namespace, and that another account's namespace
// of the same name is untouched.
func TestNamespaceDeletion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	for _, acc := range []*framework.Account{a, b} {
		framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", "work")
		framework.Kubectl(t, acc.Kubeconfig, "create", "configmap", "c", "-n", "work", "--from-literal=k=v")
		framework.Kubectl(t, acc.Kubeconfig, "create", "secret", "generic", "s", "-n", "work", "--from-literal=k=v")
		framework.Kubectl(t, acc.Kubeconfig, "create", "serviceaccount", "sa", "-n", "work")
		framework.Kubectl(t, acc.Kubeconfig, "create", "role", "r", "-n", "work", "--verb=get", "--resource=configmaps")
	}

	framework.Kubectl(t, a.Kubeconfig, "delete", "namespace", "work", "--timeout=60s")
	_, err := a.Kube.CoreV1().Namespaces().Get(ctx, "work", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "namespace still exists: %v", err)
	for _, kind := range []string{"configmaps", "secrets", "serviceaccounts", "roles"} {
		out := framework.Kubectl(t, a.Kubeconfig, "get", kind, "-n", "work", "-o", "name")
		require.Empty(t, out, "%s left in the deleted namespace", kind)
	}

	// Creating in a namespace that does not exist fails as in a real cluster.
	errOut := framework.KubectlFails(t, a.Kubeconfig, "", "create", "configmap", "c", "-n", "work")
	require.Contains(t, errOut, `namespaces "work" not found`)

	// The other account's namespace of the same name is untouched.
	out := framework.Kubectl(t, b.Kubeconfig, "get", "configmap", "c", "-n", "work", "-o", "jsonpath={.data.k}")
	require.Equal(t, "v", out)
	ns, err := b.Kube.CoreV1().Namespaces().Get(ctx, "work", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.NamespaceActive, ns.Status.Phase)
}

// TestTerminatingNamespaceRejectsContent holds a namespace in Terminating with an object
// carrying a finalizer and checks that new content is rejected meanwhile.
func TestTerminatingNamespaceRejectsContent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	framework.Kubectl(t, a.Kubeconfig, "create", "namespace", "hold")
	_, err := a.Kube.CoreV1().ConfigMaps("hold").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "pinned", Finalizers: []string{"example.com/hold"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, a.Kube.CoreV1().Namespaces().Delete(ctx, "hold", metav1.DeleteOptions{}))

	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := a.Kube.CoreV1().Namespaces().Get(ctx, "hold", metav1.GetOptions{})
		return err == nil && ns.Status.Phase == corev1.NamespaceTerminating, nil
	}, "namespace did not become Terminating")
	errOut := framework.KubectlFails(t, a.Kubeconfig, "", "create", "configmap", "new", "-n", "hold")
	require.Contains(t, errOut, "because it is being terminated")

	// Releasing the finalizer lets the namespace go.
	cm, err := a.Kube.CoreV1().ConfigMaps("hold").Get(ctx, "pinned", metav1.GetOptions{})
	require.NoError(t, err)
	cm.Finalizers = nil
	_, err = a.Kube.CoreV1().ConfigMaps("hold").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := a.Kube.CoreV1().Namespaces().Get(ctx, "hold", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "namespace was not deleted after the finalizer was released")
}
