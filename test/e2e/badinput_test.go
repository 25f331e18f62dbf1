package e2e

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// configMapNames returns name@resourceVersion of every ConfigMap in acc, to compare before and
// after a failed request.
func configMapNames(t *testing.T, acc *framework.Account) []string {
	t.Helper()
	list, err := acc.Kube.CoreV1().ConfigMaps(metav1.NamespaceAll).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	names := make([]string, 0, len(list.Items))
	for _, cm := range list.Items {
		names = append(names, cm.Namespace+"/"+cm.Name+"@"+cm.ResourceVersion)
	}
	return names
}

// requireStatus requires err to be an API status error with code and reason whose message
// contains every one of wantInMessage.
func requireStatus(t *testing.T, err error, code int32, reason metav1.StatusReason, wantInMessage ...string) *metav1.Status {
	t.Helper()
	require.Error(t, err)
	var status apierrors.APIStatus
	require.True(t, errors.As(err, &status), "not a status error: %T %v", err, err)
	s := status.Status()
	require.Equal(t, code, s.Code, "status: %+v", s)
	require.Equal(t, reason, s.Reason, "status: %+v", s)
	for _, want := range wantInMessage {
		require.Contains(t, s.Message, want, "status: %+v", s)
	}
	return &s
}

// causeFields returns the fields named by the causes of an Invalid status.
func causeFields(s *metav1.Status) []string {
	if s.Details == nil {
		return nil
	}
	var fields []string
	for _, c := range s.Details.Causes {
		fields = append(fields, c.Field)
	}
	return fields
}

// TestBadInputAccountNames checks that invalid Account names are refused with 422 naming
// metadata.name, that Accounts cannot be created through the wildcard, and that nothing is
// created either way.
func TestBadInputAccountNames(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	accounts := a.Dynamic.Resource(framework.AccountsGVR)
	newAccount := func(name string) *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
		obj.SetKind("Account")
		obj.SetName(name)
		return obj
	}

	for _, tc := range []struct {
		name, accountName, message string
	}{
		{"uppercase", "Team-A", "a lowercase RFC 1123 label"},
		{"dots", "team.a", "must not contain dots"},
		{"too long", strings.Repeat("a", 64), "must be no more than 63 characters"},
		{"empty", "", "name or generateName is required"},
		{"leading dash", "-team", "a lowercase RFC 1123 label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := accounts.Create(ctx, newAccount(tc.accountName), metav1.CreateOptions{})
			s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, tc.message)
			require.Contains(t, causeFields(s), "metadata.name")
			list, err := accounts.List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			require.Empty(t, list.Items)
		})
	}

	t.Run("in the wildcard", func(t *testing.T) {
		wildcard, err := dynamic.NewForConfig(server.ConfigFor("*"))
		require.NoError(t, err)
		name := framework.RandomName("e2e-wild-")
		_, err = wildcard.Resource(framework.AccountsGVR).Create(ctx, newAccount(name), metav1.CreateOptions{})
		requireStatus(t, err, 405, metav1.StatusReasonMethodNotAllowed)
		list, err := wildcard.Resource(framework.AccountsGVR).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		require.NoError(t, err)
		require.Empty(t, list.Items)
	})
}

// TestBadInputRequests checks that malformed, oversized, invalid and misaddressed requests get
// clear Status errors and change nothing.
func TestBadInputRequests(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	cms := a.Kube.CoreV1().ConfigMaps("default")
	_, err := cms.Create(ctx, configMap("existing", nil, map[string]string{"k": "v"}), metav1.CreateOptions{})
	require.NoError(t, err)
	before := configMapNames(t, a)

	t.Run("malformed JSON", func(t *testing.T) {
		err := a.Kube.CoreV1().RESTClient().Post().AbsPath("/api/v1/namespaces/default/configmaps").
			SetHeader("Content-Type", "application/json").Body([]byte("{not json")).Do(ctx).Error()
		requireStatus(t, err, 400, metav1.StatusReasonBadRequest)
		require.Equal(t, before, configMapNames(t, a))
	})
	t.Run("malformed YAML with kubectl", func(t *testing.T) {
		errOut := framework.KubectlFails(t, a.Kubeconfig, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [broken\ndata: {k: v\n", "apply", "-f", "-")
		require.Contains(t, errOut, "error")
		require.Contains(t, errOut, "yaml")
		require.Equal(t, before, configMapNames(t, a))
	})
	t.Run("invalid key", func(t *testing.T) {
		_, err := cms.Create(ctx, configMap("bad-key", nil, map[string]string{"a b": "v"}), metav1.CreateOptions{})
		s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, "a valid config key")
		require.Contains(t, causeFields(s), "data[a b]")
		require.Equal(t, before, configMapNames(t, a))
	})
	t.Run("data over 1 MiB", func(t *testing.T) {
		cm := configMap("too-big", nil, map[string]string{"big": strings.Repeat("x", 1536*1024)})
		_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, "1048576")
		require.Contains(t, causeFields(s), "data")
		require.Equal(t, before, configMapNames(t, a))

		// The same limit holds for updates.
		existing := getConfigMap(t, a, "existing")
		existing.Data["big"] = cm.Data["big"]
		_, err = cms.Update(ctx, existing, metav1.UpdateOptions{})
		requireStatus(t, err, 422, metav1.StatusReasonInvalid, "1048576")
		require.Equal(t, before, configMapNames(t, a))
	})
	t.Run("body over the request limit", func(t *testing.T) {
		cm := configMap("far-too-big", nil, map[string]string{"big": strings.Repeat("x", 4*1024*1024)})
		_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		requireStatus(t, err, 413, metav1.StatusReasonRequestEntityTooLarge)
		require.True(t, apierrors.IsRequestEntityTooLargeError(err))
		require.Equal(t, before, configMapNames(t, a))
	})

	base := rest.CopyConfig(server.Config)
	base.Host = server.BaseURL
	unscoped, err := kubernetes.NewForConfig(base)
	require.NoError(t, err)
	t.Run("unknown account", func(t *testing.T) {
		missing := "root:" + framework.RandomName("does-not-exist-")
		err := unscoped.CoreV1().RESTClient().Get().AbsPath("/clusters/" + missing + "/api/v1/namespaces").Do(ctx).Error()
		requireStatus(t, err, 404, metav1.StatusReasonNotFound, missing)
		// The same through kubectl, pointed at the missing account.
		errOut := framework.KubectlFails(t, server.Kubeconfig, "", "--server", server.URL(missing), "get", "configmaps", "-n", "default")
		require.Contains(t, errOut, "NotFound")
	})
	t.Run("no account in the path", func(t *testing.T) {
		err := unscoped.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces").Do(ctx).Error()
		requireStatus(t, err, 404, metav1.StatusReasonNotFound, "/clusters/<account-path>/api/v1/namespaces")
		err = unscoped.CoreV1().RESTClient().Post().AbsPath("/api/v1/namespaces/default/configmaps").
			Body(&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "no-account"}}).
			Do(ctx).Error()
		requireStatus(t, err, 404, metav1.StatusReasonNotFound, "/clusters/<account-path>")
		require.Equal(t, before, configMapNames(t, a))
	})
}
