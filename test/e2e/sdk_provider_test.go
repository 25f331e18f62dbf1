package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

var apibindingsGVR = apisv1alpha1.SchemeGroupVersion.WithResource("apibindings")

// TestProviderSDKWithoutView runs the example provider (sdk/provider on multicluster-runtime)
// against the real server before the export view exists: a proxy plays the view's URL
// prefix, /services/export/<p>/<e>/clusters/<id|*>/... → /clusters/<id|*>/... as the admin,
// narrowing wildcard apibindings to this test's and wildcard secrets to the claim's selector.
// The consumers serve databases from a per-account CRD made from the example's schema, and the
// test writes the bindings' status itself. It proves engage by binding, reconcile with the
// consumer's cluster ID, writes into the right account, claim rejection, re-reconcile when a
// binding changes, and disengage.
//
// It stands in for test/e2e/provider_test.go (the real view, binding controller and bound
// serving) and must be deleted when that lands: a bound API then conflicts with the CRD.
func TestProviderSDKWithoutView(t *testing.T) {
	t.Parallel()
	bin, err := exampleProvider()
	require.NoError(t, err)
	ctx := t.Context()
	prov := server.NewAccount(t, "root")
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(framework.RepoRoot(), "sdk/examples/database/config/schema-v1.yaml"))
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(framework.RepoRoot(), "sdk/examples/database/config/export.yaml"))
	framework.Kubectl(t, prov.Kubeconfig, "apply", "-f", filepath.Join(framework.RepoRoot(), "sdk/examples/database/config/schema-v2.yaml"))

	crd := crdFromSchema(t, filepath.Join(framework.RepoRoot(), "sdk/examples/database/config/schema-v1.yaml"))
	accepted, rejected := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	testLabel := framework.RandomName("sdk-")
	for _, acc := range []*framework.Account{accepted, rejected} {
		b, err := yaml.Marshal(crd)
		require.NoError(t, err)
		framework.KubectlStdin(t, acc.Kubeconfig, string(b), "apply", "-f", "-")
		framework.Kubectl(t, acc.Kubeconfig, "wait", "crd/databases.db.example.com", "--for=condition=Established")
	}

	proxy := viewProxy(t, accepted.ClusterID, testLabel)
	logFile := filepath.Join(t.TempDir(), "provider.log")
	startExampleProvider(t, bin, proxyKubeconfig(t, proxy.URL), prov.Path, logFile)

	bind := func(acc *framework.Account, claimState string) {
		t.Helper()
		framework.KubectlStdin(t, acc.Kubeconfig, fmt.Sprintf(`apiVersion: apis.accountmesh.io/v1alpha1
kind: APIBinding
metadata:
  name: db
  labels: {sdk-test: %s}
spec:
  reference:
    export: {path: "%s", name: db}
  permissionClaims:
  - {group: "", resource: secrets, verbs: [get, list, watch, create, update, patch, delete], selector: {matchLabels: {db.example.com/connection: "true"}}, state: %s}
`, testLabel, prov.Path, claimState), "apply", "-f", "-")
		setBindingStatus(t, acc, claimState == "Accepted")
	}
	bind(accepted, "Accepted")
	bind(rejected, "Rejected")
	for _, acc := range []*framework.Account{accepted, rejected} {
		framework.KubectlStdin(t, acc.Kubeconfig, "apiVersion: db.example.com/v1\nkind: Database\nmetadata: {name: orders, namespace: default}\nspec: {size: S}\n", "create", "-f", "-")
	}

	framework.Kubectl(t, accepted.Kubeconfig, "wait", "database/orders", "--for=condition=Ready", "--timeout=60s")
	require.Equal(t, "orders.default.db.example.com:5432", framework.Kubectl(t, accepted.Kubeconfig, "get", "database/orders", "-o", "jsonpath={.status.endpoint}"))
	secret, err := accepted.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "true", secret.Labels["db.example.com/connection"])
	require.Equal(t, "Database", secret.OwnerReferences[0].Kind)
	require.Equal(t, "5432", string(secret.Data["port"]))
	require.NotEmpty(t, secret.Data["password"])
	waitForLog(t, logFile, `"Reconciled database" .*cluster="`+accepted.ClusterID+`" namespace="default" name="orders" ready=true`)

	framework.Kubectl(t, rejected.Kubeconfig, "wait", "database/orders", "--for=jsonpath={.status.conditions[0].reason}=SecretClaimRejected", "--timeout=60s")
	_, err = rejected.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "no secret without the claim, got %v", err)
	waitForLog(t, logFile, `"Reconciled database" .*cluster="`+rejected.ClusterID+`" namespace="default" name="orders" ready=false`)

	// Accepting the claim later re-reconciles the account's databases.
	bind(rejected, "Accepted")
	framework.Kubectl(t, rejected.Kubeconfig, "wait", "database/orders", "--for=condition=Ready", "--timeout=60s")
	_, err = rejected.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.NoError(t, err)
	// The same name in two accounts: each secret belongs to its own account's database.
	dbUID := framework.Kubectl(t, rejected.Kubeconfig, "get", "database/orders", "-o", "jsonpath={.metadata.uid}")
	secret, err = rejected.Kube.CoreV1().Secrets("default").Get(ctx, "orders-connection", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, dbUID, string(secret.OwnerReferences[0].UID))

	// Unbinding disengages the account.
	framework.Kubectl(t, accepted.Kubeconfig, "delete", "apibinding/db")
	waitForLog(t, logFile, `"Disengaged account" .*cluster="`+accepted.ClusterID+`"`)
}

// crdFromSchema reads an APIResourceSchema file and returns the equivalent CRD.
func crdFromSchema(t *testing.T, file string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var s apisv1alpha1.APIResourceSchema
	require.NoError(t, yaml.UnmarshalStrict(b, &s))
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Spec.Names.Plural + "." + s.Spec.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: s.Spec.Group, Names: s.Spec.Names,
			Scope: s.Spec.Scope, Versions: s.Spec.Versions},
	}
}

// setBindingStatus writes what the binding controller would: Bound, and the secrets claim
// applied if accepted.
func setBindingStatus(t *testing.T, acc *framework.Account, accepted bool) {
	t.Helper()
	status := apisv1alpha1.APIBindingStatus{Phase: apisv1alpha1.BindingPhaseBound}
	if accepted {
		status.AppliedPermissionClaims = []apisv1alpha1.PermissionClaim{{Resource: "secrets",
			Verbs:    []string{"get", "list", "watch", "create", "update", "patch", "delete"},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"db.example.com/connection": "true"}}}}
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&status)
	require.NoError(t, err)
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		b, err := acc.Dynamic.Resource(apibindingsGVR).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		require.NoError(t, unstructured.SetNestedField(b.Object, raw, "status"))
		_, err = acc.Dynamic.Resource(apibindingsGVR).UpdateStatus(ctx, b, metav1.UpdateOptions{})
		return err == nil, nil
	}, "failed to set the status of the binding in %s", acc)
}

// viewProxy serves the view's URL prefix by forwarding to the server as the admin. Wildcard
// discovery goes to discoveryID (the server's wildcard has no per-account CRDs in discovery),
// wildcard apibindings are narrowed to the label sdk-test=testLabel, and wildcard secrets to the
// claim's selector.
func viewProxy(t *testing.T, discoveryID, testLabel string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(server.BaseURL)
	require.NoError(t, err)
	transport, err := rest.TransportFor(server.Config)
	require.NoError(t, err)
	p := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			path := r.In.URL.Path
			parts := strings.SplitN(strings.TrimPrefix(path, "/services/export/"), "/", 5) // p, e, clusters, id, rest
			if !strings.HasPrefix(path, "/services/export/") || len(parts) < 4 || parts[2] != "clusters" {
				r.Out.URL.Path = "/not-a-view"
				return
			}
			id, rest := parts[3], ""
			if len(parts) == 5 {
				rest = "/" + parts[4]
			}
			q := r.Out.URL.Query()
			if id == "*" {
				segs := strings.Split(strings.Trim(rest, "/"), "/")
				switch {
				case segs[0] == "api" && len(segs) <= 2, segs[0] == "apis" && len(segs) <= 3:
					id = discoveryID
				case strings.HasSuffix(rest, "/apibindings"):
					q.Set("labelSelector", "sdk-test="+testLabel)
				case strings.HasSuffix(rest, "/secrets"):
					q.Set("labelSelector", "db.example.com/connection=true")
				}
			}
			r.Out.URL.Path = "/clusters/" + id + rest
			r.Out.URL.RawPath = ""
			r.Out.URL.RawQuery = q.Encode()
		},
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s
}

// proxyKubeconfig writes a kubeconfig for the proxy (plain HTTP, no credentials).
func proxyKubeconfig(t *testing.T, proxyURL string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["view"] = &clientcmdapi.Cluster{Server: proxyURL}
	cfg.AuthInfos["provider"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["view"] = &clientcmdapi.Context{Cluster: "view", AuthInfo: "provider"}
	cfg.CurrentContext = "view"
	file := filepath.Join(t.TempDir(), "provider.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, file))
	return file
}
