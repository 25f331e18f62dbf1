package e2e

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// lastAppliedAnnotation is where client-side kubectl apply records what it applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// configMapYAML renders a ConfigMap manifest in namespace default.
func configMapYAML(name string, data map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: default\ndata:\n")
	for k, v := range data {
		b.WriteString("  " + k + ": " + v + "\n")
	}
	return b.String()
}

// getConfigMap reads a ConfigMap in namespace default of acc, failing the test if it cannot.
func getConfigMap(t *testing.T, acc *framework.Account, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := acc.Kube.CoreV1().ConfigMaps("default").Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return cm
}

// TestApplyClientSide checks that a second client-side kubectl apply computes a three-way
// strategic merge from the last-applied annotation: it changes and removes what the manifest
// changed and removed, and keeps what another writer added.
func TestApplyClientSide(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()

	out := framework.KubectlStdin(t, a.Kubeconfig, configMapYAML("applied", map[string]string{"keep": "k", "change": "old", "remove": "gone"}), "apply", "-f", "-")
	require.Contains(t, out, "configmap/applied created")
	cm := getConfigMap(t, a, "applied")
	require.Equal(t, map[string]string{"keep": "k", "change": "old", "remove": "gone"}, cm.Data)
	require.Contains(t, cm.Annotations[lastAppliedAnnotation], `"remove":"gone"`)

	// Another writer adds a key the manifest never mentioned.
	cm.Data["extra"] = "other-writer"
	_, err := a.Kube.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)

	out = framework.KubectlStdin(t, a.Kubeconfig, configMapYAML("applied", map[string]string{"keep": "k", "change": "new"}), "apply", "-f", "-")
	require.Contains(t, out, "configmap/applied configured")
	cm = getConfigMap(t, a, "applied")
	require.Equal(t, map[string]string{"keep": "k", "change": "new", "extra": "other-writer"}, cm.Data)
	var lastApplied corev1.ConfigMap
	require.NoError(t, json.Unmarshal([]byte(cm.Annotations[lastAppliedAnnotation]), &lastApplied))
	require.Equal(t, map[string]string{"keep": "k", "change": "new"}, lastApplied.Data)
	require.Equal(t, a.ClusterID, cm.Annotations["accountmesh.io/cluster"])

	// Applying the same manifest again is a no-op.
	out = framework.KubectlStdin(t, a.Kubeconfig, configMapYAML("applied", map[string]string{"keep": "k", "change": "new"}), "apply", "-f", "-")
	require.Contains(t, out, "configmap/applied unchanged")
	require.Equal(t, cm.ResourceVersion, getConfigMap(t, a, "applied").ResourceVersion)
}

// TestApplyServerSide checks server-side apply: field ownership by manager, a conflict when
// another manager changes an owned field, and --force-conflicts taking ownership.
func TestApplyServerSide(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")

	framework.KubectlStdin(t, a.Kubeconfig, configMapYAML("ssa", map[string]string{"owned": "alice-value", "shared": "s"}),
		"apply", "--server-side", "--field-manager=alice", "-f", "-")
	cm := getConfigMap(t, a, "ssa")
	require.Equal(t, map[string]string{"owned": "alice-value", "shared": "s"}, cm.Data)
	require.Equal(t, "data.owned data.shared", appliedFields(t, cm, "alice"))

	// bob changes a field alice owns: conflict, nothing changes.
	bobManifest := configMapYAML("ssa", map[string]string{"owned": "bob-value"})
	errOut := framework.KubectlFails(t, a.Kubeconfig, bobManifest, "apply", "--server-side", "--field-manager=bob", "-f", "-")
	require.Contains(t, errOut, "conflict")
	require.Contains(t, errOut, `"alice"`)
	require.Contains(t, errOut, ".data.owned")
	unchanged := getConfigMap(t, a, "ssa")
	require.Equal(t, cm.ResourceVersion, unchanged.ResourceVersion)
	require.Equal(t, "alice-value", unchanged.Data["owned"])

	// The same value is no conflict: both managers then share the field.
	framework.KubectlStdin(t, a.Kubeconfig, configMapYAML("ssa", map[string]string{"shared": "s"}),
		"apply", "--server-side", "--field-manager=carol", "-f", "-")
	require.Equal(t, "data.shared", appliedFields(t, getConfigMap(t, a, "ssa"), "carol"))

	// With --force-conflicts bob takes the field over.
	framework.KubectlStdin(t, a.Kubeconfig, bobManifest, "apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", "-")
	cm = getConfigMap(t, a, "ssa")
	require.Equal(t, map[string]string{"owned": "bob-value", "shared": "s"}, cm.Data)
	require.Equal(t, "data.owned", appliedFields(t, cm, "bob"))
	require.Equal(t, "data.shared", appliedFields(t, cm, "alice"))
	require.Equal(t, a.ClusterID, cm.Annotations["accountmesh.io/cluster"])
}

// appliedFields returns the data fields the Apply manager owns in cm, sorted and space
// separated.
func appliedFields(t *testing.T, cm *corev1.ConfigMap, manager string) string {
	t.Helper()
	for _, mf := range cm.ManagedFields {
		if mf.Manager != manager || mf.Operation != metav1.ManagedFieldsOperationApply {
			continue
		}
		require.NotNil(t, mf.FieldsV1, "manager %s has no fields", manager)
		var fields map[string]map[string]interface{}
		require.NoError(t, json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields))
		var owned []string
		for k := range fields["f:data"] {
			owned = append(owned, "data."+strings.TrimPrefix(k, "f:"))
		}
		sort.Strings(owned)
		return strings.Join(owned, " ")
	}
	require.Failf(t, "no apply manager", "manager %q is not in managedFields: %+v", manager, cm.ManagedFields)
	return ""
}

// TestApplyPatch checks kubectl patch with merge, JSON and strategic merge patches.
func TestApplyPatch(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	_, err := a.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("patched", nil, map[string]string{"x": "1", "y": "1", "z": "1"}), metav1.CreateOptions{})
	require.NoError(t, err)

	t.Run("merge", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "patch", "configmap", "patched", "-n", "default", "--type", "merge", "-p", `{"data":{"x":"2","y":null,"w":"new"}}`)
		require.Equal(t, map[string]string{"x": "2", "z": "1", "w": "new"}, getConfigMap(t, a, "patched").Data)
	})
	t.Run("json", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "patch", "configmap", "patched", "-n", "default", "--type", "json",
			"-p", `[{"op":"replace","path":"/data/x","value":"3"},{"op":"remove","path":"/data/z"}]`)
		cm := getConfigMap(t, a, "patched")
		require.Equal(t, map[string]string{"x": "3", "w": "new"}, cm.Data)

		// A failing test operation rejects the whole patch.
		errOut := framework.KubectlFails(t, a.Kubeconfig, "", "patch", "configmap", "patched", "-n", "default", "--type", "json",
			"-p", `[{"op":"replace","path":"/data/x","value":"4"},{"op":"test","path":"/data/w","value":"wrong"}]`)
		require.Contains(t, errOut, "The request is invalid")
		require.Equal(t, cm.ResourceVersion, getConfigMap(t, a, "patched").ResourceVersion)
	})
	t.Run("strategic", func(t *testing.T) {
		sa := &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "patched"},
			Secrets:    []corev1.ObjectReference{{Name: "s1"}},
		}
		_, err := a.Kube.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{})
		require.NoError(t, err)
		secrets := func() string {
			return framework.Kubectl(t, a.Kubeconfig, "get", "serviceaccount", "patched", "-n", "default", "-o", "jsonpath={.secrets[*].name}")
		}

		// secrets merges by name under a strategic merge patch (kubectl's default for built-ins).
		framework.Kubectl(t, a.Kubeconfig, "patch", "serviceaccount", "patched", "-n", "default", "-p", `{"secrets":[{"name":"s2"}]}`)
		require.Equal(t, "s2 s1", secrets())
		framework.Kubectl(t, a.Kubeconfig, "patch", "serviceaccount", "patched", "-n", "default", "--type", "strategic", "-p", `{"secrets":[{"name":"s1","$patch":"delete"}]}`)
		require.Equal(t, "s2", secrets())
		// A merge patch replaces the list.
		framework.Kubectl(t, a.Kubeconfig, "patch", "serviceaccount", "patched", "-n", "default", "--type", "merge", "-p", `{"secrets":[{"name":"s3"}]}`)
		require.Equal(t, "s3", secrets())
	})
}

// TestApplyStaleUpdate checks optimistic concurrency: writes carrying an old resourceVersion
// fail with a Conflict and change nothing.
func TestApplyStaleUpdate(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	cms := a.Kube.CoreV1().ConfigMaps("default")

	t.Run("client-go update", func(t *testing.T) {
		_, err := cms.Create(ctx, configMap("stale-update", nil, map[string]string{"v": "0"}), metav1.CreateOptions{})
		require.NoError(t, err)
		old := getConfigMap(t, a, "stale-update")
		fresh := old.DeepCopy()
		fresh.Data["v"] = "someone-else"
		_, err = cms.Update(ctx, fresh, metav1.UpdateOptions{})
		require.NoError(t, err)

		old.Data["v"] = "mine"
		_, err = cms.Update(ctx, old, metav1.UpdateOptions{})
		require.Error(t, err)
		require.True(t, apierrors.IsConflict(err), "expected a Conflict, got %v", err)
		require.Contains(t, err.Error(), "the object has been modified")
		require.Equal(t, "someone-else", getConfigMap(t, a, "stale-update").Data["v"])
	})
	t.Run("kubectl replace", func(t *testing.T) {
		_, err := cms.Create(ctx, configMap("stale-replace", nil, map[string]string{"v": "0"}), metav1.CreateOptions{})
		require.NoError(t, err)
		manifest := framework.Kubectl(t, a.Kubeconfig, "get", "configmap", "stale-replace", "-n", "default", "-o", "yaml")
		cm := getConfigMap(t, a, "stale-replace")
		cm.Data["v"] = "concurrent"
		updated, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
		require.NoError(t, err)

		edited := strings.Replace(manifest, `v: "0"`, "v: edited", 1)
		require.NotEqual(t, manifest, edited)
		errOut := framework.KubectlFails(t, a.Kubeconfig, edited, "replace", "-f", "-")
		require.Contains(t, errOut, "the object has been modified")
		got := getConfigMap(t, a, "stale-replace")
		require.Equal(t, "concurrent", got.Data["v"])
		require.Equal(t, updated.ResourceVersion, got.ResourceVersion)

		// With the current resourceVersion the same replace goes through.
		current := framework.Kubectl(t, a.Kubeconfig, "get", "configmap", "stale-replace", "-n", "default", "-o", "yaml")
		edited = strings.Replace(current, "v: concurrent", "v: edited", 1)
		require.NotEqual(t, current, edited)
		framework.KubectlStdin(t, a.Kubeconfig, edited, "replace", "-f", "-")
		require.Equal(t, "edited", getConfigMap(t, a, "stale-replace").Data["v"])
	})
}
