package replicas

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// writeEncryptionConfig writes an upstream EncryptionConfiguration: Secrets with an aescbc key,
// the test's Widgets with an aesgcm key, both still reading unencrypted values (identity).
func writeEncryptionConfig(t testing.TB) string {
	t.Helper()
	key := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	cfg := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aescbc: {keys: [{name: key1, secret: %s}]}
  - identity: {}
- resources: [widgets.replicas.example.com]
  providers:
  - aesgcm: {keys: [{name: key2, secret: %s}]}
  - identity: {}
`, key(), key())
	f := filepath.Join(t.TempDir(), "encryption.yaml")
	require.NoError(t, os.WriteFile(f, []byte(cfg), 0o600))
	return f
}

// rawValue returns the value etcd holds under key.
func rawValue(t testing.TB, key string) string {
	t.Helper()
	resp, err := cluster.client.Get(t.Context(), key)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "etcd has no key %s", key)
	return string(resp.Kvs[0].Value)
}

// TestEncryptionAtRest: with --encryption-provider-config, a Secret and a custom resource
// are encrypted in etcd (with their provider's prefix, nothing of their content in clear) and
// read back through the API; a replica without the configuration cannot read them and says
// so, and keeps serving; a Secret stored unencrypted (by that replica) is read through the
// identity fallback and encrypted when written again.
func TestEncryptionAtRest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMesh(t, 1, "--encryption-provider-config", writeEncryptionConfig(t))
	a := m.replicas[0]
	acc := a.NewAccount(t, "root")
	const plaintext = "very-secret-value"
	// Secrets are stored as JSON here: data in base64.
	stored := base64.StdEncoding.EncodeToString([]byte(plaintext))
	_, err := acc.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"password": plaintext}}, metav1.CreateOptions{})
	require.NoError(t, err)
	secretKey := func(name string) string {
		return m.prefix + "/core/secrets/" + acc.ClusterID + "/default/" + name
	}
	raw := rawValue(t, secretKey("s"))
	require.True(t, strings.HasPrefix(raw, "k8s:enc:aescbc:v1:key1:"), "the Secret is not encrypted with aescbc: %q", raw)
	require.NotContains(t, raw, stored)
	require.NotContains(t, raw, "password")
	s, err := acc.Kube.CoreV1().Secrets("default").Get(ctx, "s", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, plaintext, string(s.Data["password"]))

	// Custom resources are encrypted as their group/resource is configured.
	framework.KubectlStdin(t, acc.Kubeconfig, widgetCRD, "apply", "-f", "-")
	framework.Kubectl(t, acc.Kubeconfig, "wait", "--for=condition=Established", "crd/widgets.replicas.example.com")
	framework.KubectlStdin(t, acc.Kubeconfig, "apiVersion: replicas.example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default, labels: {size: large}}\nspec: {size: 3}\n", "create", "-f", "-")
	raw = rawValue(t, m.prefix+"/replicas.example.com/widgets/"+acc.ClusterID+"/default/w")
	require.True(t, strings.HasPrefix(raw, "k8s:enc:aesgcm:v1:key2:"), "the Widget is not encrypted with aesgcm: %q", raw)
	require.NotContains(t, raw, "large")
	require.Equal(t, "3", framework.Kubectl(t, acc.Kubeconfig, "get", "widgets", "w", "-o", "jsonpath={.spec.size}"))
	// ConfigMaps are not configured: stored as they are.
	_, err = acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1ConfigMap, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Contains(t, rawValue(t, m.prefix+"/core/configmaps/"+acc.ClusterID+"/default/"+corev1ConfigMap.Name), "through A")

	// A replica without the configuration cannot read the Secret: a clear error, not a crash.
	b, err := framework.StartServer(ctx, t.TempDir(), append(cluster.args(m.prefix), "--cluster-token-file", m.tokenFile)...)
	if b != nil {
		t.Cleanup(b.Stop)
	}
	require.NoError(t, err)
	kubeB, err := kubernetes.NewForConfig(configAt(a, b, acc.Path))
	require.NoError(t, err)
	_, err = kubeB.CoreV1().Secrets("default").Get(ctx, "s", metav1.GetOptions{})
	require.Error(t, err)
	require.True(t, apierrors.IsInternalError(err), "unexpected error: %v", err)
	require.Contains(t, err.Error(), "identity transformer tried to read encrypted data")
	// It keeps serving what it can read, and writes what it stores unencrypted.
	_, err = kubeB.CoreV1().ConfigMaps("default").Get(ctx, corev1ConfigMap.Name, metav1.GetOptions{})
	require.NoError(t, err)
	_, err = kubeB.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "plain"}, StringData: map[string]string{"password": plaintext}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Contains(t, rawValue(t, secretKey("plain")), stored)
	require.Equal(t, "ok", framework.Kubectl(t, b.Kubeconfig, "get", "--raw", "/readyz"))

	// The replica with the configuration reads the unencrypted Secret through the identity
	// provider, and encrypts it when it is written again.
	plain, err := acc.Kube.CoreV1().Secrets("default").Get(ctx, "plain", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, plaintext, string(plain.Data["password"]))
	plain.Labels = map[string]string{"rewritten": "true"}
	_, err = acc.Kube.CoreV1().Secrets("default").Update(ctx, plain, metav1.UpdateOptions{})
	require.NoError(t, err)
	raw = rawValue(t, secretKey("plain"))
	require.True(t, strings.HasPrefix(raw, "k8s:enc:aescbc:v1:key1:"), "the rewritten Secret is not encrypted: %q", raw)
	require.NotContains(t, raw, stored)

	// aesgcm binds a value to its etcd key, which holds the account's cluster ID: a value
	// copied under another key does not decrypt there.
	widgetKey := m.prefix + "/replicas.example.com/widgets/" + acc.ClusterID + "/default/"
	_, err = cluster.client.Put(ctx, widgetKey+"copy", rawValue(t, widgetKey+"w"))
	require.NoError(t, err)
	_, stderr, err := framework.KubectlResult(t, acc.Kubeconfig, "", "get", "widgets", "copy")
	require.Error(t, err, "a value copied under another key was decrypted")
	require.Contains(t, stderr, "cipher: message authentication failed")
	_, err = cluster.client.Delete(ctx, widgetKey+"copy")
	require.NoError(t, err)
}

// TestEncryptionConfigInvalid: a replica given an invalid encryption configuration refuses to
// start with the reason and writes nothing to etcd.
func TestEncryptionConfigInvalid(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := filepath.Join(t.TempDir(), "encryption.yaml")
	require.NoError(t, os.WriteFile(f, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: [{name: key1, secret: dG9vIHNob3J0}]}\n"), 0o600))
	prefix := "/" + framework.RandomName("mesh-")
	s, err := framework.StartServer(ctx, t.TempDir(), append(cluster.args(prefix), "--cluster-token-file", writeToken(t), "--encryption-provider-config", f)...)
	if s != nil {
		t.Cleanup(s.Stop)
	}
	require.Error(t, err)
	require.Contains(t, err.Error(), "failed to load --encryption-provider-config")
	resp, err := cluster.client.Get(ctx, prefix, clientV3WithPrefix()...)
	require.NoError(t, err)
	require.Empty(t, keys(resp.Kvs), "the refused replica wrote to etcd")
}
