package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileWebhooks attacks admission webhooks (R36, R37, R38): a sibling's webhook never
// sees another account's requests; a descendant's admin can neither shadow, delete nor change
// an inherited configuration, nor make one of its own flow down without inherited rights; edit
// cannot register webhooks; and what a user's credentials claim of the account never reaches
// the webhook.
func TestHostileWebhooks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHookServer(t)
	parent := server.NewAccount(t, "root")
	child, sibling := server.NewAccount(t, parent.Path), server.NewAccount(t, "root")
	framework.KubectlStdin(t, parent.Kubeconfig, h.configYAML("ValidatingWebhookConfiguration", "guard", "/deny", `accountmesh.io/inherit: "true"`, ""), "apply", "-f", "-")
	eventuallyDeniedByHook(t, child)
	guard, err := parent.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "guard", metav1.GetOptions{})
	require.NoError(t, err)

	// The child's admin holds admin in the child only.
	childAdminUser := framework.RandomName("child-admin-")
	framework.Kubectl(t, child.Kubeconfig, "create", "clusterrolebinding", "child-admin", "--clusterrole=admin", "--user="+childAdminUser)
	childAdmin := userKubeconfig(t, child.Path, childAdminUser)
	kubectlEventually(t, childAdmin, "get", "validatingwebhookconfigurations")

	t.Run("R37 shadow the inherited configuration with a local one of the same name", func(t *testing.T) {
		framework.KubectlStdin(t, childAdmin, h.configYAML("ValidatingWebhookConfiguration", "guard", "/allow", "", ""), "create", "-f", "-")
		time.Sleep(time.Second) // let the local configuration reach the index
		_, err := createConfigMap(t, child, "deny-shadowed")
		require.ErrorContains(t, err, "the test webhook refuses deny-shadowed")
		framework.Kubectl(t, childAdmin, "delete", "validatingwebhookconfiguration", "guard")
	})
	t.Run("R37 delete, patch or read the inherited configuration from below", func(t *testing.T) {
		_, stderr, err := framework.KubectlResult(t, childAdmin, "", "delete", "validatingwebhookconfiguration", "guard")
		require.Error(t, err)
		require.Contains(t, stderr, "NotFound")
		_, stderr, err = framework.KubectlResult(t, childAdmin, "", "patch", "validatingwebhookconfiguration", "guard", "--type=merge",
			"-p", `{"webhooks":[{"name":"guard.hooks.example.com","failurePolicy":"Ignore"}]}`)
		require.Error(t, err)
		require.Contains(t, stderr, "NotFound")
		_, err = createConfigMap(t, child, "deny-after-delete")
		require.ErrorContains(t, err, "the test webhook refuses deny-after-delete")
	})
	t.Run("R37 make a configuration flow down with local rights only", func(t *testing.T) {
		for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
			_, stderr, err := framework.KubectlResult(t, childAdmin, h.configYAML(kind, "flows", "/deny", `accountmesh.io/inherit: "true"`, ""), "create", "-f", "-")
			require.Error(t, err, kind)
			require.Contains(t, stderr, "applies in every account below this one", kind)
		}
		// Labelling a local configuration afterwards is refused likewise.
		framework.KubectlStdin(t, childAdmin, h.configYAML("ValidatingWebhookConfiguration", "local", "/allow", "", ""), "create", "-f", "-")
		_, stderr, err := framework.KubectlResult(t, childAdmin, "", "label", "validatingwebhookconfiguration", "local", "accountmesh.io/inherit=true")
		require.Error(t, err)
		require.Contains(t, stderr, "applies in every account below this one")
	})
	t.Run("R38 edit registers no webhooks", func(t *testing.T) {
		editUser := framework.RandomName("editor-")
		framework.Kubectl(t, child.Kubeconfig, "create", "clusterrolebinding", "editor", "--clusterrole=edit", "--user="+editUser)
		editor := userKubeconfig(t, child.Path, editUser)
		kubectlEventually(t, editor, "get", "configmaps", "-n", "default")
		for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
			_, stderr, err := framework.KubectlResult(t, editor, h.configYAML(kind, "edit", "/allow", "", ""), "create", "-f", "-")
			require.Error(t, err, kind)
			require.Contains(t, strings.ToLower(stderr), "forbidden", kind)
		}
	})
	t.Run("R36 a sibling's webhook of the same name sees nothing of another account", func(t *testing.T) {
		other := newHookServer(t)
		framework.KubectlStdin(t, sibling.Kubeconfig, other.configYAML("ValidatingWebhookConfiguration", "guard", "/deny", `accountmesh.io/inherit: "true"`, ""), "apply", "-f", "-")
		eventuallyDeniedByHook(t, sibling)
		for i := range 3 {
			_, err := createConfigMap(t, parent, fmt.Sprintf("allowed-%d", i))
			require.NoError(t, err)
			_, err = createConfigMap(t, child, fmt.Sprintf("deny-child-%d", i))
			require.ErrorContains(t, err, "the test webhook refuses")
		}
		require.Empty(t, other.seen("allowed-"))
		require.Empty(t, other.seen("deny-child-"))
		require.Empty(t, h.seen("deny-sibling-"))
		for name, paths := range h.seen("") {
			for _, p := range paths {
				require.NotEqual(t, sibling.Path, p, "the parent's webhook saw %s of the sibling", name)
			}
		}
	})
	t.Run("R36 claim another account in the user's extra", func(t *testing.T) {
		framework.Kubectl(t, child.Kubeconfig, "create", "clusterrolebinding", "mallory-edit", "--clusterrole=edit", "--user=mallory")
		cfg := rest.CopyConfig(child.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "mallory", Extra: map[string][]string{
			webhook.AccountPathExtraKey: {sibling.Path}, webhook.AccountIDExtraKey: {sibling.ClusterID}}}
		mallory, err := kubernetes.NewForConfig(cfg)
		require.NoError(t, err)
		framework.Eventually(t, grantTimeout, func(ctx context.Context) (bool, error) {
			_, err := mallory.CoreV1().ConfigMaps("default").Get(ctx, "missing", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "mallory's grant did not take effect")
		_, err = mallory.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "deny-forged"}}, metav1.CreateOptions{})
		require.ErrorContains(t, err, "the test webhook refuses deny-forged")
		// The inherited configuration and the child's local one (same server) each saw it.
		paths := h.seen("deny-forged")["deny-forged"]
		require.NotEmpty(t, paths)
		for _, p := range paths {
			require.Equal(t, child.Path, p)
		}
	})
	after, err := parent.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "guard", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, guard.ResourceVersion, after.ResourceVersion, "the inherited configuration did not change")
}
