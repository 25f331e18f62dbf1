package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// gcTimeout bounds how long a test waits for the garbage collector; it only guards against a
// hang.
const gcTimeout = 60 * time.Second

// gadgetCRD is a namespaced CRD of Gadgets in group, without a schema of its own.
func gadgetCRD(group string) string {
	return crdYAML(group, "gadgets", "{plural: gadgets, singular: gadget, kind: Gadget}", "", `    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`)
}

func gadgetsGVR(group string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: "v1", Resource: "gadgets"}
}

// applyGCCRDs applies the Widget CRD (with extraProperty in its schema) and the Gadget CRD of
// group in acc and waits until both are established.
func applyGCCRDs(t *testing.T, acc *framework.Account, group, extraProperty string) {
	t.Helper()
	applyWidgetCRD(t, acc, group, extraProperty)
	framework.KubectlStdin(t, acc.Kubeconfig, gadgetCRD(group), "apply", "-f", "-")
	waitEstablished(t, acc.Kubeconfig, "gadgets."+group)
}

// ownerRef is an owner reference to obj, of apiVersion and kind.
func ownerRef(obj metav1.Object, apiVersion, kind string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID(), BlockOwnerDeletion: ptrTo(block)}
}

// createCR creates a custom resource of gvr and kind named name in namespace default of acc,
// owned by owners.
func createCR(t *testing.T, acc *framework.Account, gvr schema.GroupVersionResource, kind, name string, owners ...metav1.OwnerReference) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(kind)
	u.SetName(name)
	u.SetOwnerReferences(owners)
	out, err := acc.Dynamic.Resource(gvr).Namespace("default").Create(t.Context(), u, metav1.CreateOptions{})
	require.NoError(t, err)
	return out
}

// createOwnedConfigMap creates a ConfigMap named name in namespace default of acc, owned by
// owners.
func createOwnedConfigMap(t *testing.T, acc *framework.Account, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm := configMap(name, nil, nil)
	cm.OwnerReferences = owners
	out, err := acc.Kube.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{})
	require.NoError(t, err)
	return out
}

// crGone reports whether the custom resource of gvr named name is gone from namespace default
// of acc.
func crGone(ctx context.Context, acc *framework.Account, gvr schema.GroupVersionResource, name string) bool {
	_, err := acc.Dynamic.Resource(gvr).Namespace("default").Get(ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// waitCRsGone waits until the custom resources of gvr are gone from acc.
func waitCRsGone(t *testing.T, acc *framework.Account, gvr schema.GroupVersionResource, names ...string) {
	t.Helper()
	framework.Eventually(t, gcTimeout, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			if !crGone(ctx, acc, gvr, name) {
				return false, nil
			}
		}
		return true, nil
	}, "%s %v were not collected in %s", gvr.Resource, names, acc.Path)
}

// ownerUIDs returns the UIDs of the owner references of the custom resource of gvr named name
// in acc, failing if it is gone.
func ownerUIDs(t *testing.T, ctx context.Context, acc *framework.Account, gvr schema.GroupVersionResource, name string) []types.UID {
	t.Helper()
	u, err := acc.Dynamic.Resource(gvr).Namespace("default").Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err, "%s %s in %s", gvr.Resource, name, acc.Path)
	var uids []types.UID
	for _, ref := range u.GetOwnerReferences() {
		uids = append(uids, ref.UID)
	}
	return uids
}

// TestGarbageCollectionCustomResources checks background, foreground and orphan deletion of
// custom resources owning custom resources of their own and of another kind, and ownership
// between custom resources and ConfigMaps both ways, in one account, with the same objects in
// another account left alone.
func TestGarbageCollectionCustomResources(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	apiVersion := group + "/v1"
	widgets, gadgets := widgetsGVR(group), gadgetsGVR(group)
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	for _, acc := range []*framework.Account{a, b} {
		applyGCCRDs(t, acc, group, "")
		for _, policy := range []string{"bg", "fg", "or"} {
			owner := createCR(t, acc, widgets, "Widget", policy)
			createCR(t, acc, widgets, "Widget", policy+"-widget", ownerRef(owner, apiVersion, "Widget", true))
			createCR(t, acc, gadgets, "Gadget", policy+"-gadget", ownerRef(owner, apiVersion, "Widget", true))
		}
		cm := createOwnedConfigMap(t, acc, "cm-owner")
		createCR(t, acc, gadgets, "Gadget", "owned-by-cm", ownerRef(cm, "v1", "ConfigMap", true))
		w := createCR(t, acc, widgets, "Widget", "cr-owner")
		createOwnedConfigMap(t, acc, "owned-by-cr", ownerRef(w, apiVersion, "Widget", true))
	}

	t.Run("background", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "widgets."+group, "bg", "-n", "default", "--cascade=background")
		waitCRsGone(t, a, widgets, "bg-widget")
		waitCRsGone(t, a, gadgets, "bg-gadget")
	})
	t.Run("foreground", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "widgets."+group, "fg", "-n", "default", "--cascade=foreground", "--timeout=60s")
		// The owner goes only after its blocking dependents.
		require.True(t, crGone(t.Context(), a, widgets, "fg-widget"))
		require.True(t, crGone(t.Context(), a, gadgets, "fg-gadget"))
	})
	t.Run("orphan", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "widgets."+group, "or", "-n", "default", "--cascade=orphan", "--timeout=60s")
		require.True(t, crGone(t.Context(), a, widgets, "or"))
		require.Empty(t, ownerUIDs(t, t.Context(), a, widgets, "or-widget"))
		require.Empty(t, ownerUIDs(t, t.Context(), a, gadgets, "or-gadget"))
	})
	t.Run("ConfigMap owns a custom resource", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "configmap", "cm-owner", "-n", "default", "--cascade=foreground", "--timeout=60s")
		require.True(t, crGone(t.Context(), a, gadgets, "owned-by-cm"))
	})
	t.Run("custom resource owns a ConfigMap", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "widgets."+group, "cr-owner", "-n", "default")
		framework.Eventually(t, gcTimeout, func(ctx context.Context) (bool, error) {
			return gone(ctx, a, "owned-by-cr"), nil
		}, "the ConfigMap owned by a Widget was not collected")
	})
	t.Run("other account untouched", func(t *testing.T) {
		ctx := t.Context()
		for _, name := range []string{"bg", "bg-widget", "fg", "fg-widget", "or", "or-widget", "cr-owner"} {
			require.False(t, crGone(ctx, b, widgets, name), "widget %s was deleted in %s", name, b.Path)
		}
		for _, name := range []string{"bg-gadget", "fg-gadget", "owned-by-cm"} {
			require.False(t, crGone(ctx, b, gadgets, name), "gadget %s was deleted in %s", name, b.Path)
		}
		require.Len(t, ownerUIDs(t, ctx, b, gadgets, "or-gadget"), 1, "b's dependents keep their owners")
		require.False(t, gone(ctx, b, "owned-by-cr"))
	})
}

// TestGarbageCollectionCustomResourcesDifferentSchemas defines one resource with a different
// schema in each of two accounts (the wildcard cannot serve it whole: 409, only its metadata)
// and collects in both; deleting the CRD in one account leaves collection working in the
// other, and once the last CRD is gone, the resource defined again in another version is
// collected again.
func TestGarbageCollectionCustomResourcesDifferentSchemas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	widgets := widgetsGVR(group)
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	applyWidgetCRD(t, a, group, "")
	applyWidgetCRD(t, b, group, "              color: {type: string}\n")

	createCR(t, a, widgets, "Widget", "in-a")
	createCR(t, b, widgets, "Widget", "in-b")
	wildcard, err := framework.DynamicFor(server.ConfigFor("*"))
	require.NoError(t, err)
	_, err = wildcard.Resource(widgets).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsConflict(err), "the accounts define widgets differently: %v", err)
	// Their metadata is served across both schemas: what the collector watches.
	meta, err := metadata.NewForConfig(server.ConfigFor("*"))
	require.NoError(t, err)
	list, err := meta.Resource(widgets).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	accounts := map[string]string{}
	for _, item := range list.Items {
		accounts[item.Name] = item.Annotations["accountmesh.io/cluster"]
	}
	require.Equal(t, map[string]string{"in-a": a.ClusterID, "in-b": b.ClusterID}, accounts)

	round := func(t *testing.T, gvr schema.GroupVersionResource, accs ...*framework.Account) {
		t.Helper()
		prefix := framework.RandomName("r")
		for _, acc := range accs {
			owner := createCR(t, acc, gvr, "Widget", prefix)
			createCR(t, acc, gvr, "Widget", prefix+"-dep", ownerRef(owner, gvr.GroupVersion().String(), "Widget", true))
			framework.Kubectl(t, acc.Kubeconfig, "delete", "widgets."+group, prefix, "-n", "default")
		}
		for _, acc := range accs {
			waitCRsGone(t, acc, gvr, prefix+"-dep")
		}
	}
	t.Run("both accounts", func(t *testing.T) { round(t, widgets, a, b) })
	t.Run("after the CRD is deleted in one account", func(t *testing.T) {
		framework.Kubectl(t, b.Kubeconfig, "delete", "crd", "widgets."+group, "--timeout=60s")
		round(t, widgets, a)
	})
	t.Run("after the last CRD is deleted and defined again in another version", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "crd", "widgets."+group, "--timeout=60s")
		v2 := widgets
		v2.Version = "v2"
		framework.KubectlStdin(t, b.Kubeconfig, strings.ReplaceAll(widgetCRD(group, ""), "- name: v1", "- name: v2"), "apply", "-f", "-")
		waitEstablished(t, b.Kubeconfig, "widgets."+group)
		round(t, v2, b)
	})
}

// TestGarbageCollectionBoundResources collects bound resources in a consumer account: a
// Database owning a Database and a ConfigMap, and a ConfigMap owning a Database, also once the
// provider deleted the export.
func TestGarbageCollectionBoundResources(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	apiVersion := group + "/v1"
	databases := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "databases"}
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	publishDatabases(t, provider, "db", group, "")
	bind(t, consumer, "db", provider.Path, "db")
	waitDiscoverable(t, consumer.Kubeconfig, "databases."+group)

	owner := createCR(t, consumer, databases, "Database", "owner")
	createCR(t, consumer, databases, "Database", "owned-db", ownerRef(owner, apiVersion, "Database", true))
	createOwnedConfigMap(t, consumer, "owned-cm", ownerRef(owner, apiVersion, "Database", true))
	cm := createOwnedConfigMap(t, consumer, "cm-owner")
	createCR(t, consumer, databases, "Database", "owned-by-cm", ownerRef(cm, "v1", "ConfigMap", true))

	t.Run("database owner, foreground", func(t *testing.T) {
		framework.Kubectl(t, consumer.Kubeconfig, "delete", "databases."+group, "owner", "-n", "default", "--cascade=foreground", "--timeout=60s")
		require.True(t, crGone(t.Context(), consumer, databases, "owned-db"))
		require.True(t, gone(t.Context(), consumer, "owned-cm"))
	})
	t.Run("ConfigMap owner, background", func(t *testing.T) {
		framework.Kubectl(t, consumer.Kubeconfig, "delete", "configmap", "cm-owner", "-n", "default")
		waitCRsGone(t, consumer, databases, "owned-by-cm")
	})
	t.Run("orphan", func(t *testing.T) {
		o := createCR(t, consumer, databases, "Database", "orphaner")
		createCR(t, consumer, databases, "Database", "orphan", ownerRef(o, apiVersion, "Database", true))
		framework.Kubectl(t, consumer.Kubeconfig, "delete", "databases."+group, "orphaner", "-n", "default", "--cascade=orphan", "--timeout=60s")
		require.Empty(t, ownerUIDs(t, t.Context(), consumer, databases, "orphan"))
	})
	t.Run("after the provider deleted the export and its schema", func(t *testing.T) {
		// The binding keeps serving what it bound, and foreground deletions there still end.
		o := createCR(t, consumer, databases, "Database", "late-owner")
		createCR(t, consumer, databases, "Database", "late-dep", ownerRef(o, apiVersion, "Database", true))
		framework.Kubectl(t, provider.Kubeconfig, "delete", "apiexport", "db")
		framework.Kubectl(t, provider.Kubeconfig, "delete", "apiresourceschema", "v1.databases."+group)
		waitBinding(t, consumer, "db", "Ready", "False")
		framework.Kubectl(t, consumer.Kubeconfig, "delete", "databases."+group, "late-owner", "-n", "default", "--cascade=foreground", "--timeout=60s")
		require.True(t, crGone(t.Context(), consumer, databases, "late-dep"))
	})
}

// BenchmarkGarbageCollect measures the time from deleting an owner (background) to the
// deletion of its dependent, as a watch sees it: a Widget owning a Gadget, and for comparison a
// ConfigMap owning a ConfigMap. It reports the median and the 99th percentile.
//
//	go test ./test/e2e -run '^$' -bench GarbageCollect -benchtime 200x
func BenchmarkGarbageCollect(b *testing.B) {
	ctx := b.Context()
	group := framework.RandomName("bench") + ".example.com"
	acc := server.NewAccount(b, "root")
	framework.KubectlStdin(b, acc.Kubeconfig, widgetCRD(group, ""), "apply", "-f", "-")
	framework.KubectlStdin(b, acc.Kubeconfig, gadgetCRD(group), "apply", "-f", "-")
	configMaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	// An unthrottled client: client-go's default limit of 5 requests/s would be all we measure.
	cfg := rest.CopyConfig(acc.Config)
	cfg.QPS, cfg.Burst = -1, 0
	dyn, err := framework.DynamicFor(cfg)
	require.NoError(b, err)
	for _, bc := range []struct {
		name                  string
		owners, dependents    schema.GroupVersionResource
		ownerKind, dependKind string
	}{
		{name: "custom resources", owners: widgetsGVR(group), dependents: gadgetsGVR(group), ownerKind: "Widget", dependKind: "Gadget"},
		{name: "configmaps", owners: configMaps, dependents: configMaps, ownerKind: "ConfigMap", dependKind: "ConfigMap"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			owners, dependents := dyn.Resource(bc.owners).Namespace("default"), dyn.Resource(bc.dependents).Namespace("default")
			framework.Eventually(b, gcTimeout, func(ctx context.Context) (bool, error) {
				_, err1 := owners.List(ctx, metav1.ListOptions{})
				_, err2 := dependents.List(ctx, metav1.ListOptions{})
				return err1 == nil && err2 == nil, nil
			}, "%s are not served", bc.name)
			w, err := dependents.Watch(ctx, metav1.ListOptions{})
			require.NoError(b, err)
			defer w.Stop()
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				owner := &unstructured.Unstructured{}
				owner.SetAPIVersion(bc.owners.GroupVersion().String())
				owner.SetKind(bc.ownerKind)
				owner.SetName(fmt.Sprintf("owner-%d", i))
				created, err := owners.Create(ctx, owner, metav1.CreateOptions{})
				require.NoError(b, err)
				dep := &unstructured.Unstructured{}
				dep.SetAPIVersion(bc.dependents.GroupVersion().String())
				dep.SetKind(bc.dependKind)
				dep.SetName(fmt.Sprintf("dep-%d", i))
				dep.SetOwnerReferences([]metav1.OwnerReference{ownerRef(created, bc.owners.GroupVersion().String(), bc.ownerKind, false)})
				_, err = dependents.Create(ctx, dep, metav1.CreateOptions{})
				require.NoError(b, err)
				b.StartTimer()
				start := time.Now()
				require.NoError(b, owners.Delete(ctx, created.GetName(), metav1.DeleteOptions{}))
				requireWatchEvent(b, w, watch.Deleted, dep.GetName())
				latencies = append(latencies, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
