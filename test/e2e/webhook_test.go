package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// hookServer is an admission webhook started by a test: an HTTPS server with its own CA that
// records every AdmissionReview it is sent. Its paths: /deny refuses objects named deny-*,
// /mutate labels the object mutated=yes, /hang answers after the caller gave up, /allow allows.
type hookServer struct {
	srv      *httptest.Server
	caBundle string

	mu       sync.Mutex
	requests []*admissionv1.AdmissionRequest
	// paths are the paths the requests were sent to, in the same order.
	paths []string
}

func newHookServer(t *testing.T) *hookServer {
	t.Helper()
	h := &hookServer{}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	h.caBundle = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw}))
	return h
}

func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	review := &admissionv1.AdmissionReview{}
	if err != nil || json.Unmarshal(body, review) != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.requests = append(h.requests, review.Request)
	h.paths = append(h.paths, r.URL.Path)
	h.mu.Unlock()
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	switch r.URL.Path {
	case "/hang":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	case "/deny":
		if strings.HasPrefix(review.Request.Name, "deny-") {
			resp.Allowed = false
			resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: "the test webhook refuses " + review.Request.Name}
		}
	case "/mutate":
		patch := `[{"op":"add","path":"/metadata/labels","value":{"mutated":"yes"}}]`
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = []byte(patch), &pt
	case "/data":
		patch := `[{"op":"add","path":"/data","value":{"from":"webhook"}}]`
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = []byte(patch), &pt
	}
	review.Response, review.Request = resp, nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

// calls returns how often the webhook at path was sent a request for the object named name.
func (h *hookServer) calls(path, name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for i, r := range h.requests {
		if r.Name == name && h.paths[i] == path {
			n++
		}
	}
	return n
}

// seen returns the requests the webhook was sent for objects named with prefix, with the path
// of the account each was made in.
func (h *hookServer) seen(prefix string) map[string][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]string{}
	for _, r := range h.requests {
		if strings.HasPrefix(r.Name, prefix) {
			out[r.Name] = append(out[r.Name], r.UserInfo.Extra[webhook.AccountPathExtraKey]...)
		}
	}
	return out
}

// configYAML is a webhook configuration of kind with one webhook on configmaps calling path
// of the server; extra is added to the webhook's fields, labels to the configuration's.
func (h *hookServer) configYAML(kind, name, path, labels, extra string) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: %s
metadata: {name: %s, labels: {%s}}
webhooks:
- name: %s.hooks.example.com
  clientConfig: {url: %q, caBundle: %s}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  sideEffects: None
  admissionReviewVersions: [v1]
%s`, kind, name, labels, name, h.srv.URL+path, b64(h.caBundle), extra)
}

func b64(s string) string {
	out, _ := json.Marshal([]byte(s))
	return string(out)
}

// createConfigMap creates a configmap in the default namespace of acc and returns the error.
func createConfigMap(t *testing.T, acc *framework.Account, name string) (*corev1.ConfigMap, error) {
	t.Helper()
	return acc.Kube.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
}

// eventuallyDeniedByHook creates configmaps named deny-<n> in acc until one is refused with the
// test webhook's message: configurations reach the server's index through a watch.
func eventuallyDeniedByHook(t *testing.T, acc *framework.Account) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		_, err := createConfigMap(t, acc, framework.RandomName("deny-"))
		return err != nil && strings.Contains(err.Error(), "the test webhook refuses"), nil
	}, "the validating webhook never took effect in %s", acc.Path)
}

// TestValidatingWebhook: a validating webhook of an account is called for that account's
// requests only, with the account's path and cluster ID in the AdmissionReview's user extra,
// and its denial reaches the client with its message; the sibling account's requests never
// reach it.
func TestValidatingWebhook(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	acc, sibling := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	framework.KubectlStdin(t, acc.Kubeconfig, h.configYAML("ValidatingWebhookConfiguration", "deny", "/deny", "", ""), "apply", "-f", "-")
	eventuallyDeniedByHook(t, acc)

	_, err := createConfigMap(t, acc, "deny-me")
	require.Error(t, err)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.Contains(t, err.Error(), `admission webhook "deny.hooks.example.com" denied the request: the test webhook refuses deny-me`)
	_, err = createConfigMap(t, acc, "fine")
	require.NoError(t, err)
	_, stderr, err := framework.KubectlResult(t, acc.Kubeconfig, "", "create", "configmap", "deny-kubectl", "-n", "default")
	require.Error(t, err)
	require.Contains(t, stderr, "the test webhook refuses deny-kubectl")

	h.mu.Lock()
	var review *admissionv1.AdmissionRequest
	for _, r := range h.requests {
		if r.Name == "deny-me" {
			review = r
		}
	}
	h.mu.Unlock()
	require.NotNil(t, review)
	require.Equal(t, []string{acc.Path}, []string(review.UserInfo.Extra[webhook.AccountPathExtraKey]))
	require.Equal(t, []string{acc.ClusterID}, []string(review.UserInfo.Extra[webhook.AccountIDExtraKey]))
	require.Equal(t, "default", review.Namespace)

	// A dry run reaches the webhook (sideEffects None), marked as such, and stores nothing.
	_, err = acc.Kube.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "deny-dry"}},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.ErrorContains(t, err, "the test webhook refuses deny-dry")
	h.mu.Lock()
	for _, r := range h.requests {
		if r.Name == "deny-dry" {
			require.True(t, r.DryRun != nil && *r.DryRun, "the review says it is a dry run")
		}
	}
	h.mu.Unlock()

	// The sibling's requests never reach the webhook, whatever their name.
	for i := range 3 {
		_, err := createConfigMap(t, sibling, fmt.Sprintf("deny-sibling-%d", i))
		require.NoError(t, err)
	}
	require.Empty(t, h.seen("deny-sibling-"))
}

// TestMutatingWebhook: a mutating webhook's patch is applied to the stored object, and
// matchConditions decide which requests it is called for.
func TestMutatingWebhook(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	acc := server.NewAccount(t, "root")
	framework.KubectlStdin(t, acc.Kubeconfig, h.configYAML("MutatingWebhookConfiguration", "mutate", "/mutate", "",
		`  matchConditions: [{name: prefixed, expression: "object.metadata.name.startsWith('m-')"}]
`), "apply", "-f", "-")
	var cm *corev1.ConfigMap
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		var err error
		cm, err = createConfigMap(t, acc, framework.RandomName("m-"))
		return err == nil && cm.Labels["mutated"] == "yes", err
	}, "the mutating webhook never took effect")
	stored, err := acc.Kube.CoreV1().ConfigMaps("default").Get(t.Context(), cm.Name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "yes", stored.Labels["mutated"])

	// The match condition leaves other names alone: the webhook is not even called.
	other, err := createConfigMap(t, acc, "plain-cm")
	require.NoError(t, err)
	require.Empty(t, other.Labels)
	require.Empty(t, h.seen("plain-"))
	// Reinvocation: a webhook with reinvocationPolicy IfNeeded is called again when a later
	// webhook changed the object; one with Never is not.
	framework.KubectlStdin(t, acc.Kubeconfig, fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: reinvoke}
webhooks:
- name: first.hooks.example.com
  clientConfig: {url: %q, caBundle: %s}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  objectSelector: {matchLabels: {reinvoke: "yes"}}
  reinvocationPolicy: IfNeeded
  sideEffects: None
  admissionReviewVersions: [v1]
- name: second.hooks.example.com
  clientConfig: {url: %q, caBundle: %s}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  objectSelector: {matchLabels: {reinvoke: "yes"}}
  sideEffects: None
  admissionReviewVersions: [v1]
`, h.srv.URL+"/allow", b64(h.caBundle), h.srv.URL+"/data", b64(h.caBundle)), "apply", "-f", "-")
	var name string
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		name = framework.RandomName("r-")
		cm, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: map[string]string{"reinvoke": "yes"}}}, metav1.CreateOptions{})
		return err == nil && cm.Data["from"] == "webhook", err
	}, "the reinvoked webhooks never took effect")
	require.Equal(t, 2, h.calls("/allow", name), "the IfNeeded webhook is called again after the later one changed the object")
	require.Equal(t, 1, h.calls("/data", name), "the Never webhook is called once")
}

// TestWebhookFailurePolicy: a webhook that hangs is cut at its timeoutSeconds; with
// failurePolicy Fail the request fails, with Ignore it goes through. An unreachable webhook
// likewise.
func TestWebhookFailurePolicy(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	for _, tc := range []struct{ name, url string }{
		{"hang", h.srv.URL + "/hang"},
		// A port nothing listens on: the server closed it right away.
		{"unreachable", closedURL(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			acc := server.NewAccount(t, "root")
			config := func(name, policy string) string {
				return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %s}
webhooks:
- name: %s.hooks.example.com
  clientConfig: {url: %q, caBundle: %s}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  objectSelector: {matchLabels: {policy: %s}}
  failurePolicy: %s
  timeoutSeconds: 1
  sideEffects: None
  admissionReviewVersions: [v1]
`, name, name, tc.url, b64(h.caBundle), policy, policy)
			}
			framework.KubectlStdin(t, acc.Kubeconfig, config("fail", "Fail")+"---\n"+config("ignore", "Ignore"), "apply", "-f", "-")
			create := func(policy string) error {
				_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
					Name: framework.RandomName("cm-"), Labels: map[string]string{"policy": policy}}}, metav1.CreateOptions{})
				return err
			}
			var err error
			framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
				err = create("Fail")
				return err != nil, nil
			}, "the failing webhook never took effect")
			require.Contains(t, err.Error(), `failed calling webhook "fail.hooks.example.com"`)
			start := time.Now()
			require.NoError(t, create("Ignore"), "failurePolicy Ignore lets the request through")
			t.Logf("%s webhook with Ignore: request took %s", tc.name, time.Since(start))

			// Counted, without the tenant's webhook names.
			metrics := scrapeMetrics(t)
			require.NotContains(t, metrics, "hooks.example.com", "a tenant's webhook name in a metric")
			require.Regexp(t, `apiserver_admission_webhook_rejection_count\{error_type="calling_webhook_error",name="unexpected",operation="CREATE",rejection_code="[0-9]+",type="validating"\} [1-9]`, metrics)
			require.Regexp(t, `apiserver_admission_webhook_fail_open_count\{name="unexpected",type="validating"\} [1-9]`, metrics)
		})
	}
}

// scrapeMetrics returns the server's /metrics, read as a platform admin.
func scrapeMetrics(t *testing.T) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(server.Config)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, server.BaseURL+"/metrics", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(body)
}

// closedURL returns an https URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewTLSServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u + "/closed"
}

// TestInheritedWebhook: a configuration labelled accountmesh.io/inherit: "true" is called for
// the requests of every account below its own, with the requesting account's path in the
// extra; one without the label is not.
func TestInheritedWebhook(t *testing.T) {
	t.Parallel()
	h := newHookServer(t)
	parent := server.NewAccount(t, "root")
	child := server.NewAccount(t, parent.Path)
	grandchild := server.NewAccount(t, child.Path)
	framework.KubectlStdin(t, parent.Kubeconfig,
		h.configYAML("ValidatingWebhookConfiguration", "inherited", "/deny", `accountmesh.io/inherit: "true"`, "")+"---\n"+
			h.configYAML("MutatingWebhookConfiguration", "local", "/mutate", "", ""), "apply", "-f", "-")
	eventuallyDeniedByHook(t, grandchild)
	eventuallyDeniedByHook(t, parent)

	cm, err := createConfigMap(t, child, "allowed-in-child")
	require.NoError(t, err)
	require.Empty(t, cm.Labels, "the parent's mutating webhook is not inherited")
	_, err = createConfigMap(t, child, "deny-in-child")
	require.ErrorContains(t, err, "the test webhook refuses deny-in-child")
	require.Equal(t, map[string][]string{"deny-in-child": {child.Path}}, h.seen("deny-in-child"))
	require.Equal(t, map[string][]string{"allowed-in-child": {child.Path}}, h.seen("allowed-in-child"))

	// The child sees its parent's configuration nowhere in its own API, but among its
	// effective webhooks, read-only, with where it comes from; the parent's own mutating
	// configuration is not there.
	_, err = child.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(t.Context(), "inherited", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "%v", err)
	viewer := framework.RandomName("viewer-")
	framework.Kubectl(t, child.Kubeconfig, "create", "clusterrolebinding", "viewer", "--clusterrole=view", "--user="+viewer)
	c, err := versioned.NewForConfig(userConfig(t, child.Path, viewer))
	require.NoError(t, err)
	var list *authorizationv1alpha1.EffectiveWebhookList
	framework.Eventually(t, grantTimeout, func(ctx context.Context) (bool, error) {
		list, err = c.AuthorizationV1alpha1().EffectiveWebhooks().List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}, "the viewer could not list effective webhooks: %v", err)
	require.Len(t, list.Items, 1)
	item := list.Items[0]
	require.Equal(t, parent.Path+".validating.inherited", item.Name)
	require.Equal(t, parent.Path, item.Spec.Account)
	require.True(t, item.Spec.Inherited)
	require.True(t, item.Spec.Inheritable)
	require.Len(t, item.Spec.Validating, 1)
	require.Equal(t, "inherited.hooks.example.com", item.Spec.Validating[0].Name)
	out := framework.Kubectl(t, userKubeconfig(t, child.Path, viewer), "get", "effectivewebhooks")
	require.Contains(t, out, parent.Path+".validating.inherited")
	_, stderr, err := framework.KubectlResult(t, userKubeconfig(t, child.Path, viewer), "", "delete", "effectivewebhook", parent.Path+".validating.inherited")
	require.Error(t, err)
	require.Contains(t, strings.ToLower(stderr), "forbidden")

	// In the parent, both of its own are effective, neither inherited.
	pc, err := versioned.NewForConfig(parent.Config)
	require.NoError(t, err)
	own, err := pc.AuthorizationV1alpha1().EffectiveWebhooks().List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, own.Items, 2)
	for _, it := range own.Items {
		require.False(t, it.Spec.Inherited, it.Name)
	}
}

// TestWebhookURLsRefused: a webhook must be called by an https URL whose host resolves to
// addresses the server may reach; anything else is refused with 422 when it is written, and
// nothing is stored. (Loopback is allowed by the shared server's flag; the unit tests of
// pkg/admission/webhook refuse it without.)
func TestWebhookURLsRefused(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	t.Cleanup(func() {
		list, err := acc.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, list.Items)
	})
	for _, tc := range []struct{ name, clientConfig, message string }{
		{"http", `{url: "http://hooks.example.com/x"}`, "'https' is the only allowed URL scheme"},
		{"metadata service", `{url: "https://169.254.169.254/latest"}`, "link-local"},
		{"link-local IPv6", `{url: "https://[fe80::1]/x"}`, "link-local"},
		{"unspecified", `{url: "https://0.0.0.0:8443/x"}`, "unspecified"},
		{"multicast", `{url: "https://239.1.2.3/x"}`, "multicast"},
		{"unresolvable", `{url: "https://no-such-host.invalid/x"}`, "does not resolve"},
		{"service", `{service: {namespace: default, name: hooks}}`, "there are no Services"},
		{"nothing", `{}`, "there are no Services"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
				yaml := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: %s
metadata: {name: refused}
webhooks:
- name: refused.hooks.example.com
  clientConfig: %s
  sideEffects: None
  admissionReviewVersions: [v1]
`, kind, tc.clientConfig)
				_, stderr, err := framework.KubectlResult(t, acc.Kubeconfig, yaml, "create", "-f", "-")
				require.Error(t, err, kind)
				require.Contains(t, stderr, "is invalid", kind)
				require.Contains(t, stderr, tc.message, kind)
			}
		})
	}
}
