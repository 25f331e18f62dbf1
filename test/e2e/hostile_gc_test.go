package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// metadataAccept is what client-go's metadata client sends for a list.
var metadataAccept = http.Header{"Accept": {"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"}}

// TestHostileGarbageCollection attacks the garbage collector as mallory, who administers one
// account: owner references naming objects and kinds of another account must neither get the
// collector to touch that account nor let that account's objects decide anything in hers, and
// the cross-schema metadata wildcard the collector watches custom resources through is for
// system:masters only.
func TestHostileGarbageCollection(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	v := server.NewAccount(t, "root")
	mallory := framework.RandomName("mallory-")
	grantRole(t, a, "admin", "--user="+mallory, false)
	m := certActor(t, mallory)
	eventuallyAllowed(t, m, "/clusters/"+a.Path+"/api/v1/namespaces/default/configmaps")
	kube, err := kubernetes.NewForConfig(userConfig(t, a.Path, mallory))
	require.NoError(t, err)

	// Only the victim defines the Widgets of group; both define those of shared, differently.
	group, shared := randomGroup(), randomGroup()
	applyWidgetCRD(t, v, group, "")
	applyWidgetCRD(t, v, shared, "")
	applyWidgetCRD(t, a, shared, "              color: {type: string}\n")
	victimWidget := createCR(t, v, widgetsGVR(group), "Widget", "target")
	victimShared := createCR(t, v, widgetsGVR(shared), "Widget", "target")
	victimDep := createCR(t, v, widgetsGVR(shared), "Widget", "target-dep", ownerRef(victimShared, shared+"/v1", "Widget", true))

	hostileTable(t, []attack{
		// R9, R14: the metadata of a custom resource across accounts is the collector's, not a tenant's.
		{name: "metadata wildcard list of a custom resource", as: m, path: "/clusters/*/apis/" + shared + "/v1/widgets", header: metadataAccept, want: 403,
			absent: "/clusters/*/apis/absent.example.com/v1/widgets", presentName: shared, absentName: "absent.example.com"},
		// R14: nor those of an export's objects across its consumers.
		{name: "metadata wildcard list of a bound resource", as: m, path: "/clusters/*/apis/" + shared + "/v1/widgets:0123456789abcdef0123456789abcdef", header: metadataAccept, want: 403},
		// R9: nor its watch.
		{name: "metadata wildcard watch of a custom resource", as: m, path: "/clusters/*/apis/" + shared + "/v1/widgets?watch=true&timeoutSeconds=1",
			header: http.Header{"Accept": {"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"}}, want: 403},
	}, []*framework.Account{a, v}, []string{v.ClusterID})

	// R14: an owner reference to a kind that only another account serves resolves to nothing in
	// mallory's account, as an unknown kind does upstream: the dependent stays.
	foreignKind := createOwnedConfigMap(t, a, "foreign-kind", ownerRef(victimWidget, group+"/v1", "Widget", true))
	// R14: an owner reference to the UID of another account's object, next to an owner of her own.
	keeper := createOwnedConfigMap(t, a, "keeper")
	cm := configMap("foreign-uid", nil, nil)
	cm.OwnerReferences = []metav1.OwnerReference{ownerRef(keeper, "v1", "ConfigMap", false), ownerRef(victimShared, shared+"/v1", "Widget", true)}
	_, err = kube.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	require.NoError(t, err)
	// R14: a dependent whose only owner reference carries the UID of another account's object.
	createCR(t, a, widgetsGVR(shared), "Widget", "dangling", ownerRef(victimShared, shared+"/v1", "Widget", true))

	t.Run("a foreign UID does not keep a dependent alive", func(t *testing.T) {
		// As upstream, a reference to an owner that is not there is dangling: the dependent
		// is collected, in mallory's account only.
		waitCRsGone(t, a, widgetsGVR(shared), "dangling")
		require.False(t, crGone(ctx, v, widgetsGVR(shared), "target"))
		require.False(t, crGone(ctx, v, widgetsGVR(shared), "target-dep"))
	})
	t.Run("a foreign UID is removed, not followed", func(t *testing.T) {
		framework.Eventually(t, gcTimeout, func(ctx context.Context) (bool, error) {
			got, err := kube.CoreV1().ConfigMaps("default").Get(ctx, "foreign-uid", metav1.GetOptions{})
			return err == nil && len(got.OwnerReferences) == 1 && got.OwnerReferences[0].UID == keeper.UID, nil
		}, "the reference to the other account's object was not removed as dangling")
	})
	t.Run("the victim's foreground deletion does not wait for or touch mallory's objects", func(t *testing.T) {
		framework.Kubectl(t, v.Kubeconfig, "delete", "widgets."+shared, "target", "-n", "default", "--cascade=foreground", "--timeout=60s")
		require.True(t, crGone(ctx, v, widgetsGVR(shared), victimDep.GetName()))
		require.False(t, gone(ctx, a, "foreign-uid"))
		require.False(t, gone(ctx, a, "keeper"))
	})
	t.Run("a kind served only in another account keeps its dependent", func(t *testing.T) {
		// The victim deletes the owner the reference names, and collects a dependent of its
		// own: by then the collector has seen the deletion, and mallory's ConfigMap stays.
		own := createOwnedConfigMap(t, v, "own-dep", ownerRef(victimWidget, group+"/v1", "Widget", true))
		framework.Kubectl(t, v.Kubeconfig, "delete", "widgets."+group, "target", "-n", "default")
		framework.Eventually(t, gcTimeout, func(ctx context.Context) (bool, error) {
			return gone(ctx, v, own.Name), nil
		}, "the victim's dependent was not collected")
		got, err := kube.CoreV1().ConfigMaps("default").Get(ctx, foreignKind.Name, metav1.GetOptions{})
		require.NoError(t, err, "a kind mallory's account does not serve must not get her ConfigMap collected")
		require.Equal(t, []types.UID{victimWidget.GetUID()}, []types.UID{got.OwnerReferences[0].UID})
	})
}
