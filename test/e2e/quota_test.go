package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestResourceQuota: a quota of 5 ConfigMaps in a namespace, with upstream's object-count
// semantics and message, enforced with real kubectl; usage reported in status; another
// namespace and another account unaffected; deletions free the quota again; only object counts
// are accepted, and status is the server's.
func TestResourceQuota(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	other := server.NewAccount(t, "root")
	ctx := t.Context()
	framework.KubectlStdin(t, acc.Kubeconfig, `
apiVersion: v1
kind: ResourceQuota
metadata: {name: small, namespace: default}
spec:
  hard: {configmaps: "5", count/leases.coordination.k8s.io: "0"}
`, "create", "-f", "-")
	quotas := acc.Kube.CoreV1().ResourceQuotas("default")
	used := func(ctx context.Context) (int64, error) {
		q, err := quotas.Get(ctx, "small", metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		n, ok := q.Status.Used[corev1.ResourceConfigMaps]
		if !ok {
			return -1, nil
		}
		return n.Value(), nil
	}
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := used(ctx)
		return n == 1, err
	}, "the quota counts kube-root-ca.crt")

	for i := range 4 {
		framework.Kubectl(t, acc.Kubeconfig, "create", "configmap", fmt.Sprint("cm-", i))
	}
	_, stderr, err := framework.KubectlResult(t, acc.Kubeconfig, "", "create", "configmap", "one-too-many")
	require.Error(t, err)
	require.Contains(t, stderr, `configmaps "one-too-many" is forbidden: exceeded quota: small, requested: configmaps=1, used: configmaps=5, limited: configmaps=5`)
	_, err = acc.Kube.CoreV1().ConfigMaps("default").Get(ctx, "one-too-many", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "nothing stored: %v", err)
	_, err = acc.Kube.CoordinationV1().Leases("default").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "count/leases.coordination.k8s.io=0: %v", err)
	out := framework.Kubectl(t, acc.Kubeconfig, "get", "resourcequota", "small", "-o", "jsonpath={.status.used.configmaps}/{.status.hard.configmaps}")
	require.Equal(t, "5/5", out)

	// Another namespace and another account have their own counts.
	framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", "free")
	framework.Kubectl(t, acc.Kubeconfig, "create", "configmap", "cm-0", "-n", "free")
	for i := range 6 {
		framework.Kubectl(t, other.Kubeconfig, "create", "configmap", fmt.Sprint("cm-", i))
	}

	// A deletion frees a slot once the controller counts again.
	framework.Kubectl(t, acc.Kubeconfig, "delete", "configmap", "cm-0")
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		_, _, err := framework.KubectlResult(t, acc.Kubeconfig, "", "create", "configmap", "after-delete")
		return err == nil, nil
	}, "the deleted ConfigMap's slot is free again")

	// Only object counts; status is the server's.
	_, stderr, err = framework.KubectlResult(t, acc.Kubeconfig, `
apiVersion: v1
kind: ResourceQuota
metadata: {name: cpu, namespace: default}
spec: {hard: {cpu: "1"}}
`, "create", "-f", "-")
	require.Error(t, err)
	require.Contains(t, stderr, "only object counts are supported")
	admin := framework.RandomName("quota-admin-")
	framework.Kubectl(t, acc.Kubeconfig, "create", "clusterrolebinding", "quota-admin", "--clusterrole=admin", "--user="+admin)
	asAdmin := userKubeconfig(t, acc.Path, admin)
	kubectlEventually(t, asAdmin, "get", "resourcequota", "small")
	requireForbidden(t, asAdmin, "patch", "resourcequota", "small", "--subresource=status", "--type=merge",
		"-p", `{"status":{"used":{"configmaps":"0"}}}`)
	require.True(t, strings.HasSuffix(framework.Kubectl(t, acc.Kubeconfig, "get", "resourcequota", "small", "-o", "jsonpath={.status.used.configmaps}"), "5"))
}
