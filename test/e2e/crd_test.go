package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// Real-world CRDs, copied from the projects that publish them (versions and licenses in
// testdata/README.md).
const (
	gatewayStandard      = "testdata/gateway-api/standard/gateway.networking.k8s.io_gateways.yaml"
	gatewayExperimental  = "testdata/gateway-api/experimental/gateway.networking.k8s.io_gateways.yaml"
	gatewayCRD           = "gateways.gateway.networking.k8s.io"
	alertmanagerCRDFile  = "testdata/prometheus-operator/monitoring.coreos.com_alertmanagers.yaml"
	alertmanagerCRD      = "alertmanagers.monitoring.coreos.com"
	gatewayGroupVersion  = "gateway.networking.k8s.io/v1"
	establishedTimeout   = 30 * time.Second
	discoveryPollTimeout = 10 * time.Second
)

var gatewaysGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}

// applyCRD applies a CRD file in an account and waits until it is Established.
func applyCRD(t *testing.T, a *framework.Account, file, name string, extraArgs ...string) {
	t.Helper()
	framework.Kubectl(t, a.Kubeconfig, append([]string{"apply", "-f", file}, extraArgs...)...)
	waitEstablished(t, a.Kubeconfig, name)
}

// gatewayYAML is a Gateway with one listener; extra is appended to its spec.
func gatewayYAML(name, extra string) string {
	return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ` + name + `
  namespace: default
spec:
  gatewayClassName: example
  listeners:
  - name: http
    port: 80
    protocol: HTTP
` + extra
}

// TestCRDRealWorld applies Gateway API's standard-channel Gateway CRD in one account and the
// experimental channel (same group and resource, another schema) in a second, and uses both with
// kubectl as one would against a real cluster.
func TestCRDRealWorld(t *testing.T) {
	t.Parallel()
	std := server.NewAccount(t, "root")
	exp := server.NewAccount(t, "root")
	none := server.NewAccount(t, "root")
	applyCRD(t, std, gatewayStandard, gatewayCRD)
	applyCRD(t, exp, gatewayExperimental, gatewayCRD)

	channel := `jsonpath={.metadata.annotations.gateway\.networking\.k8s\.io/channel}`
	require.Equal(t, "standard", framework.Kubectl(t, std.Kubeconfig, "get", "crd", gatewayCRD, "-o", channel))
	require.Equal(t, "experimental", framework.Kubectl(t, exp.Kubeconfig, "get", "crd", gatewayCRD, "-o", channel))
	out := framework.KubectlFails(t, none.Kubeconfig, "", "get", "crd", gatewayCRD)
	require.Contains(t, out, `"gateways.gateway.networking.k8s.io" not found`)

	t.Run("discovery", func(t *testing.T) {
		out := framework.Kubectl(t, std.Kubeconfig, "api-resources", "--api-group=gateway.networking.k8s.io")
		require.Regexp(t, `gateways\s+gtw\s+gateway.networking.k8s.io/v1\s+true\s+Gateway`, out)
		out = framework.Kubectl(t, none.Kubeconfig, "api-resources")
		require.NotContains(t, out, "gateways")
		out = framework.KubectlFails(t, none.Kubeconfig, "", "get", "gateways")
		require.Contains(t, out, `the server doesn't have a resource type "gateways"`)
	})

	t.Run("defaults, status defaults and printer columns", func(t *testing.T) {
		framework.KubectlStdin(t, std.Kubeconfig, gatewayYAML("defaults", ""), "apply", "-f", "-")
		u, err := std.Dynamic.Resource(gatewaysGVR).Namespace("default").Get(t.Context(), "defaults", metav1.GetOptions{})
		require.NoError(t, err)
		listeners, _, _ := unstructured.NestedSlice(u.Object, "spec", "listeners")
		require.Len(t, listeners, 1)
		from, _, _ := unstructured.NestedString(listeners[0].(map[string]interface{}), "allowedRoutes", "namespaces", "from")
		require.Equal(t, "Same", from, "spec default applied")
		conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		require.Len(t, conditions, 2, "status defaults applied on read")

		header, rows := kubectlTable(t, framework.Kubectl(t, std.Kubeconfig, "get", "gtw", "defaults"))
		require.Equal(t, []string{"NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"}, header)
		require.Equal(t, "example", rows[0]["CLASS"])
		require.Equal(t, "Unknown", rows[0]["PROGRAMMED"])
	})

	t.Run("pruning differs by schema", func(t *testing.T) {
		body := gatewayYAML("pruned", "  defaultScope: All\n  unknownField: x\n")
		for _, a := range []*framework.Account{std, exp} {
			framework.KubectlStdin(t, a.Kubeconfig, body, "create", "--validate=false", "-f", "-")
		}
		get := func(a *framework.Account) map[string]interface{} {
			u, err := a.Dynamic.Resource(gatewaysGVR).Namespace("default").Get(t.Context(), "pruned", metav1.GetOptions{})
			require.NoError(t, err)
			spec, _, _ := unstructured.NestedMap(u.Object, "spec")
			return spec
		}
		stdSpec, expSpec := get(std), get(exp)
		require.NotContains(t, stdSpec, "unknownField")
		require.NotContains(t, stdSpec, "defaultScope", "the standard channel has no defaultScope")
		require.NotContains(t, expSpec, "unknownField")
		require.Equal(t, "All", expSpec["defaultScope"], "the experimental channel keeps defaultScope")
	})

	t.Run("strict field validation", func(t *testing.T) {
		out := framework.KubectlFails(t, std.Kubeconfig, gatewayYAML("strict", "  defaultScope: All\n  foo: bar\n"), "create", "--validate=strict", "-f", "-")
		require.Contains(t, out, `strict decoding error`)
		require.Contains(t, out, `unknown field "spec.defaultScope"`)
		require.Contains(t, out, `unknown field "spec.foo"`)
		_, err := std.Dynamic.Resource(gatewaysGVR).Namespace("default").Get(t.Context(), "strict", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "a rejected object is not stored: %v", err)
	})

	t.Run("CEL validation", func(t *testing.T) {
		body := strings.Replace(gatewayYAML("cel", ""), "    protocol: HTTP\n", "    protocol: HTTP\n    tls:\n      mode: Terminate\n", 1)
		out := framework.KubectlFails(t, std.Kubeconfig, body, "create", "-f", "-")
		require.Contains(t, out, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']")
	})

	t.Run("status and spec are written separately", func(t *testing.T) {
		framework.KubectlStdin(t, std.Kubeconfig, gatewayYAML("status", ""), "create", "-f", "-")
		res := std.Dynamic.Resource(gatewaysGVR).Namespace("default")
		generation := func() int64 {
			u, err := res.Get(t.Context(), "status", metav1.GetOptions{})
			require.NoError(t, err)
			return u.GetGeneration()
		}
		require.Equal(t, int64(1), generation())
		status := `{"spec":{"gatewayClassName":"changed-by-status"},"status":{"addresses":[{"type":"IPAddress","value":"10.0.0.1"}]}}`
		framework.Kubectl(t, std.Kubeconfig, "patch", "gtw", "status", "--subresource=status", "--type=merge", "-p", status)
		u, err := res.Get(t.Context(), "status", metav1.GetOptions{})
		require.NoError(t, err)
		class, _, _ := unstructured.NestedString(u.Object, "spec", "gatewayClassName")
		require.Equal(t, "example", class, "a status write leaves spec alone")
		addresses, _, _ := unstructured.NestedSlice(u.Object, "status", "addresses")
		require.Len(t, addresses, 1)
		require.Equal(t, int64(1), u.GetGeneration(), "status writes do not bump generation")

		framework.Kubectl(t, std.Kubeconfig, "patch", "gtw", "status", "--type=merge", "-p", `{"spec":{"gatewayClassName":"other"},"status":{"addresses":[]}}`)
		u, err = res.Get(t.Context(), "status", metav1.GetOptions{})
		require.NoError(t, err)
		addresses, _, _ = unstructured.NestedSlice(u.Object, "status", "addresses")
		require.Len(t, addresses, 1, "a spec write leaves status alone")
		require.Equal(t, int64(2), u.GetGeneration(), "spec writes bump generation")
		_, rows := kubectlTable(t, framework.Kubectl(t, std.Kubeconfig, "get", "gtw", "status"))
		require.Equal(t, "10.0.0.1", rows[0]["ADDRESS"])

		framework.Kubectl(t, std.Kubeconfig, "patch", "gtw", "status", "--type=json", "-p", `[{"op":"replace","path":"/spec/gatewayClassName","value":"json"}]`)
		require.Equal(t, int64(3), generation())
	})

	t.Run("server-side apply conflict", func(t *testing.T) {
		framework.KubectlStdin(t, std.Kubeconfig, gatewayYAML("ssa", ""), "apply", "--server-side", "--field-manager=alice", "-f", "-")
		body := strings.Replace(gatewayYAML("ssa", ""), "gatewayClassName: example", "gatewayClassName: bobs", 1)
		out := framework.KubectlFails(t, std.Kubeconfig, body, "apply", "--server-side", "--field-manager=bob", "-f", "-")
		require.Contains(t, out, `conflict with "alice"`)
		require.Contains(t, out, ".spec.gatewayClassName")
		framework.KubectlStdin(t, std.Kubeconfig, body, "apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", "-")
		require.Equal(t, "bobs", framework.Kubectl(t, std.Kubeconfig, "get", "gtw", "ssa", "-o", "jsonpath={.spec.gatewayClassName}"))
	})

	t.Run("served versions", func(t *testing.T) {
		framework.KubectlStdin(t, std.Kubeconfig, strings.Replace(gatewayYAML("beta", ""), "/v1\n", "/v1beta1\n", 1), "create", "-f", "-")
		require.Equal(t, "gateway.networking.k8s.io/v1beta1",
			framework.Kubectl(t, std.Kubeconfig, "get", "gateways.v1beta1.gateway.networking.k8s.io", "beta", "-o", "jsonpath={.apiVersion}"))
		resp, err := etcdClient.Get(t.Context(), "/registry/gateway.networking.k8s.io/gateways/"+std.ClusterID+"/default/beta")
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1, "stored under the account's cluster ID")
		require.Contains(t, string(resp.Kvs[0].Value), `"apiVersion":"gateway.networking.k8s.io/v1"`, "stored in the storage version")
	})

	t.Run("explain", func(t *testing.T) {
		out := framework.Kubectl(t, std.Kubeconfig, "explain", "gateway.spec.listeners")
		require.Contains(t, out, "allowedRoutes")
		framework.Kubectl(t, exp.Kubeconfig, "explain", "gateway.spec.defaultScope")
		out = framework.KubectlFails(t, std.Kubeconfig, "", "explain", "gateway.spec.defaultScope")
		require.Contains(t, out, `field "defaultScope" does not exist`)
	})

	t.Run("isolation", func(t *testing.T) {
		framework.KubectlStdin(t, std.Kubeconfig, gatewayYAML("only-in-std", ""), "create", "-f", "-")
		_, err := exp.Dynamic.Resource(gatewaysGVR).Namespace("default").Get(t.Context(), "only-in-std", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "got %v", err)
		list, err := exp.Dynamic.Resource(gatewaysGVR).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, item := range list.Items {
			require.NotEqual(t, "only-in-std", item.GetName())
		}
		_, err = none.Dynamic.Resource(gatewaysGVR).Namespace("default").List(t.Context(), metav1.ListOptions{})
		require.True(t, apierrors.IsNotFound(err), "an account without the CRD does not serve it: %v", err)
	})

	t.Run("watch", func(t *testing.T) {
		res := std.Dynamic.Resource(gatewaysGVR).Namespace("default")
		list, err := res.List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		w, err := res.Watch(t.Context(), metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		require.NoError(t, err)
		defer w.Stop()
		// Events of the other account's same-named resource must not arrive.
		framework.KubectlStdin(t, exp.Kubeconfig, gatewayYAML("watched-exp", ""), "create", "-f", "-")
		framework.KubectlStdin(t, std.Kubeconfig, gatewayYAML("watched", ""), "create", "-f", "-")
		select {
		case e := <-w.ResultChan():
			require.Equal(t, watch.Added, e.Type)
			u := e.Object.(*unstructured.Unstructured)
			require.Equal(t, "watched", u.GetName())
			listeners, _, _ := unstructured.NestedSlice(u.Object, "spec", "listeners")
			from, _, _ := unstructured.NestedString(listeners[0].(map[string]interface{}), "allowedRoutes", "namespaces", "from")
			require.Equal(t, "Same", from, "watch events carry defaults")
		case <-time.After(30 * time.Second):
			t.Fatal("no watch event")
		}
	})
}

// TestCRDInvalid checks that invalid CRDs are refused with upstream's messages, and that
// built-in groups cannot be extended.
func TestCRDInvalid(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	crd := func(group, propertySchema string, annotations string) string {
		return crdYAML(group, "widgets", "{plural: widgets, singular: widget, kind: Widget}", annotations, `    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: `+propertySchema+"\n")
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"untyped property", crd("example.com", "{}", ""), "must not be empty for specified object fields"},
		{"protected group without approval", crd("example.k8s.io", "{type: string}", ""), "protected groups must have approval annotation"},
		{"built-in group", crd("core.accountmesh.io", "{type: string}", ""), "built-in groups"},
		{"identity group", crd("iam.accountmesh.io", "{type: string}", ""), "built-in groups"},
		{"authorization group", crd("authorization.accountmesh.io", "{type: string}", ""), "built-in groups"},
		{"RBAC group", crd("rbac.authorization.k8s.io", "{type: string}", "  annotations: {api-approved.kubernetes.io: \"https://example.com/approved\"}\n"), "cannot be extended with custom resources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := framework.KubectlFails(t, a.Kubeconfig, tc.body, "create", "-f", "-")
			require.Contains(t, out, tc.want)
		})
	}
	require.Empty(t, framework.Kubectl(t, a.Kubeconfig, "get", "crd", "-o", "name"), "nothing was stored")
}

// TestCRDNamesAndConversion checks the NamesAccepted and Established conditions per account.
func TestCRDNamesAndConversion(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	widgets := func(plural, kind string) string {
		return crdYAML("example.com", plural, "{plural: "+plural+", singular: "+strings.TrimSuffix(plural, "s")+", kind: "+kind+"}", "",
			"    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n")
	}
	framework.KubectlStdin(t, a.Kubeconfig, widgets("widgets", "Widget"), "apply", "-f", "-")
	waitEstablished(t, a.Kubeconfig, "widgets.example.com")

	// A second CRD of the group with the same kind conflicts in a, not in b.
	framework.KubectlStdin(t, a.Kubeconfig, widgets("gadgets", "Widget"), "apply", "-f", "-")
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		out := framework.Kubectl(t, a.Kubeconfig, "get", "crd", "gadgets.example.com",
			"-o", `jsonpath={.status.conditions[?(@.type=="NamesAccepted")].status}/{.status.conditions[?(@.type=="NamesAccepted")].reason}`)
		return out == "False/KindConflict", nil
	}, "the kind conflict is not reported")
	framework.KubectlStdin(t, b.Kubeconfig, widgets("gadgets", "Widget"), "apply", "-f", "-")
	waitEstablished(t, b.Kubeconfig, "gadgets.example.com")

	// Deleting the holder of the name lets the other CRD have it.
	framework.Kubectl(t, a.Kubeconfig, "delete", "crd", "widgets.example.com", "--timeout=60s")
	waitEstablished(t, a.Kubeconfig, "gadgets.example.com")

	webhook := strings.Replace(widgets("hooks", "Hook"), "  scope: Namespaced\n", `  scope: Namespaced
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig: {url: "https://example.com/convert"}
`, 1)
	framework.KubectlStdin(t, a.Kubeconfig, webhook, "apply", "-f", "-")
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		// Until the controller writes a condition, kubectl's filter fails on the missing list.
		out, _, err := framework.KubectlResult(t, a.Kubeconfig, "", "get", "crd", "hooks.example.com",
			"-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}/{.status.conditions[?(@.type=="Established")].reason}`)
		return err == nil && out == "False/ConversionWebhookNotSupported", nil
	})
	out := framework.KubectlFails(t, a.Kubeconfig, "", "get", "hooks.example.com")
	require.Contains(t, out, "the server doesn't have a resource type")
}
