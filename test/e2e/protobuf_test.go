package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestProtobufFirstClients: clients that ask for protobuf first, as client-go's metadata client
// (used by the garbage collector and namespace deletion) and kube-controller-manager's clients
// do, get JSON for the accountmesh.io groups, whose types have no protobuf encoding, instead
// of an error: reads, lists and deletes work.
func TestProtobufFirstClients(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	framework.KubectlStdin(t, acc.Kubeconfig, `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"kid"}}`, "create", "-f", "-")
	publishDatabases(t, acc, "db", randomGroup(), "")

	meta, err := metadata.NewForConfig(server.ConfigFor(acc.Path))
	require.NoError(t, err)
	for _, r := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{
		{schema.GroupVersionResource{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accounts"}, "kid"},
		{schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apiexports"}, "db"},
	} {
		got, err := meta.Resource(r.gvr).Get(ctx, r.name, metav1.GetOptions{})
		require.NoError(t, err, r.gvr.String())
		require.Equal(t, r.name, got.Name)
		list, err := meta.Resource(r.gvr).List(ctx, metav1.ListOptions{})
		require.NoError(t, err, r.gvr.String())
		require.NotEmpty(t, list.Items)
		require.NoError(t, meta.Resource(r.gvr).Delete(ctx, r.name, metav1.DeleteOptions{}), r.gvr.String())
	}

	// A plain client asking for protobuf, then anything.
	rest := kubeClient(t, server.ConfigFor(acc.Path)).Discovery().RESTClient()
	for _, path := range []string{
		"/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts",
		"/apis/core.accountmesh.io/v1alpha1/accountinfos/account",
	} {
		res := rest.Get().AbsPath(path).SetHeader("Accept", "application/vnd.kubernetes.protobuf, */*").Do(ctx)
		var code int
		res.StatusCode(&code)
		body, err := res.Raw()
		require.NoError(t, err, path)
		require.Equal(t, http.StatusOK, code, string(body))
		require.Contains(t, string(body), `"apiVersion"`, path)
	}
}
