package e2e

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestDiscoveryAndOpenAPI checks that kubectl api-resources and kubectl explain work against an
// account URL.
func TestDiscoveryAndOpenAPI(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")

	out := framework.Kubectl(t, a.Kubeconfig, "api-resources", "-o", "name")
	for _, r := range []string{
		"configmaps", "namespaces", "secrets", "serviceaccounts", "events", "events.events.k8s.io",
		"leases.coordination.k8s.io", "roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io",
		"clusterroles.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io",
		"accounts.core.accountmesh.io", "accountinfos.core.accountmesh.io",
	} {
		require.Contains(t, strings.Fields(out), r)
	}

	out = framework.Kubectl(t, a.Kubeconfig, "explain", "configmap")
	require.Contains(t, out, "KIND:       ConfigMap")
	require.Contains(t, out, "binaryData")
	out = framework.Kubectl(t, a.Kubeconfig, "explain", "account.spec")
	require.Contains(t, out, "displayName")
	out = framework.Kubectl(t, a.Kubeconfig, "explain", "roles.rules.verbs")
	require.Contains(t, out, "verbs is a list of Verbs")
}

// TestHealthAndMetrics checks the top-level endpoints: probes answer without credentials, and
// metric labels never carry account IDs or paths.
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	framework.Kubectl(t, a.Kubeconfig, "create", "configmap", "m", "-n", "default")
	framework.Kubectl(t, a.Kubeconfig, "get", "configmaps", "-A")

	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // probes as a load balancer would
	for _, p := range []string{"/readyz", "/livez", "/healthz"} {
		resp, err := anonymous.Get(server.BaseURL + p)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", p, body)
		require.Equal(t, "ok", string(body))
	}
	resp, err := anonymous.Get(server.BaseURL + "/metrics")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "metrics must need credentials")

	kube, err := kubernetes.NewForConfig(server.Config)
	require.NoError(t, err)
	body, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	require.NoError(t, err)
	metrics := string(body)
	require.Contains(t, metrics, "apiserver_request_total")
	require.NotContains(t, metrics, a.ClusterID)
	require.NotContains(t, metrics, a.Path)
	require.NotContains(t, metrics, "/clusters/")
}
