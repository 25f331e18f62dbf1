package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

func configMap(name string, labels, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: data}
}

// TestIsolationSameNames checks that two accounts holding objects with the same names never see
// each other's objects through get, list, selectors, pagination or delete --all.
func TestIsolationSameNames(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	ctx := t.Context()

	for _, acc := range []*framework.Account{a, b} {
		for i, name := range []string{"same", "p0", "p1", "p2", "p3", "p4", "p5"} {
			labels := map[string]string{"owner": acc.Name, "tier": []string{"front", "back"}[i%2]}
			_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap(name, labels, map[string]string{"account": acc.Name}), metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}

	t.Run("get", func(t *testing.T) {
		for _, acc := range []*framework.Account{a, b} {
			out := framework.Kubectl(t, acc.Kubeconfig, "get", "configmap", "same", "-n", "default", "-o", "jsonpath={.data.account}")
			require.Equal(t, acc.Name, out)
		}
	})
	t.Run("list with selectors", func(t *testing.T) {
		for _, acc := range []*framework.Account{a, b} {
			out := framework.Kubectl(t, acc.Kubeconfig, "get", "configmaps", "-n", "default", "-l", "tier=front", "-o", "jsonpath={range .items[*]}{.data.account}{' '}{end}")
			require.Equal(t, strings.Repeat(acc.Name+" ", 4), out)
			out = framework.Kubectl(t, acc.Kubeconfig, "get", "configmaps", "-A", "--field-selector", "metadata.name=same", "-o", "name")
			require.Equal(t, "configmap/same\n", out)
			// A selector for the other account's label finds nothing.
			other := map[string]string{a.Name: b.Name, b.Name: a.Name}[acc.Name]
			out, errOut, err := framework.KubectlResult(t, acc.Kubeconfig, "", "get", "configmaps", "-A", "-l", "owner="+other)
			require.NoError(t, err)
			require.Empty(t, out)
			require.Contains(t, errOut, "No resources found")
		}
	})
	t.Run("pagination", func(t *testing.T) {
		out := framework.Kubectl(t, a.Kubeconfig, "get", "configmaps", "-n", "default", "--chunk-size=2", "-l", "owner="+a.Name, "-o", "jsonpath={range .items[*]}{.data.account}{' '}{end}")
		require.Equal(t, strings.Repeat(a.Name+" ", 7), out)

		first, err := a.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 2})
		require.NoError(t, err)
		require.Len(t, first.Items, 2)
		require.NotEmpty(t, first.Continue)
		// A continue token replayed in another account continues in that account only.
		replayed, err := b.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 100, Continue: first.Continue})
		if err == nil {
			for _, cm := range replayed.Items {
				require.Equal(t, b.ClusterID, cm.Annotations["accountmesh.io/cluster"], "continue token from %s leaked %s/%s", a.Path, cm.Namespace, cm.Name)
				if cm.Name != framework.RootCAConfigMap {
					require.Equal(t, b.Name, cm.Data["account"], "continue token from %s leaked %s/%s", a.Path, cm.Namespace, cm.Name)
				}
			}
		}
	})
	t.Run("delete all", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "configmaps", "--all", "-n", "default")
		// Only the CA bundle comes back, published again by the server.
		out := framework.Kubectl(t, a.Kubeconfig, "get", "configmaps", "-n", "default", "-o", "name")
		require.Contains(t, []string{"", "configmap/" + framework.RootCAConfigMap + "\n"}, out)
		list, err := b.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, list.Items, 8, "b keeps its 7 and its CA bundle")
	})
	t.Run("cluster annotation", func(t *testing.T) {
		cm, err := b.Kube.CoreV1().ConfigMaps("default").Get(ctx, "same", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, b.ClusterID, cm.Annotations["accountmesh.io/cluster"])
		raw, err := json.Marshal(cm)
		require.NoError(t, err)
		require.NotContains(t, string(raw), a.ClusterID)
	})
}
