package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// crdYAML is a namespaced CRD in group with one served and stored version, v1: names is the
// spec.names flow mapping, meta is added to metadata and version to the version entry (schema,
// subresources, columns).
func crdYAML(group, plural, names, meta, version string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ` + plural + `.` + group + `
` + meta + `spec:
  group: ` + group + `
  names: ` + names + `
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
` + version
}

// widgetCRD is a small namespaced CRD with a status subresource in group; extraProperty adds a
// spec property, which changes the schema.
func widgetCRD(group, extraProperty string) string {
	return crdYAML(group, "widgets", "{plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}", "", `    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Ready, type: string, jsonPath: .status.ready}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 1}
`+extraProperty+`          status:
            type: object
            properties:
              ready: {type: string}
`)
}

// waitEstablished polls until a CRD is Established; kubectl wait fails on a CRD that has no
// conditions yet.
func waitEstablished(t *testing.T, kubeconfig, name string) {
	t.Helper()
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, kubeconfig, "", "get", "crd", name, "-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`)
		return err == nil && out == "True", nil
	}, "CRD %s is not Established", name)
}

// applyWidgetCRD applies widgetCRD in an account and waits until it is Established.
func applyWidgetCRD(t *testing.T, a *framework.Account, group, extraProperty string) {
	t.Helper()
	framework.KubectlStdin(t, a.Kubeconfig, widgetCRD(group, extraProperty), "apply", "-f", "-")
	waitEstablished(t, a.Kubeconfig, "widgets."+group)
}

func widgetYAML(group, name string, size int) string {
	return fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata: {name: %s, namespace: default}\nspec: {size: %d}\n", group, name, size)
}

func widgetsGVR(group string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
}

// randomGroup returns a CRD group no other test uses.
func randomGroup() string {
	return framework.RandomName("e2e") + ".example.com"
}

// TestCRDDeletion deletes a CRD whose custom resource has a finalizer: the CRD is Terminating,
// new objects are refused, and once the finalizer is gone the CRD and its objects go, in that
// account only; discovery drops the resource. Deleting an account removes its custom resources.
func TestCRDDeletion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	name := "widgets." + group
	for _, acc := range []*framework.Account{a, b} {
		applyWidgetCRD(t, acc, group, "")
		framework.KubectlStdin(t, acc.Kubeconfig, widgetYAML(group, "held", 2), "apply", "-f", "-")
	}
	framework.Kubectl(t, a.Kubeconfig, "patch", "widget", "held", "--type=merge", "-p", `{"metadata":{"finalizers":["e2e.example.com/hold"]}}`)

	framework.Kubectl(t, a.Kubeconfig, "delete", "crd", name, "--wait=false")
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		reason := framework.Kubectl(t, a.Kubeconfig, "get", "crd", name, "-o", `jsonpath={.status.conditions[?(@.type=="Terminating")].reason}`)
		return reason == "InstanceDeletionInProgress", nil
	}, "the CRD is not deleting its instances")
	out := framework.KubectlFails(t, a.Kubeconfig, widgetYAML(group, "new", 1), "create", "-f", "-")
	require.Contains(t, out, "create not allowed while custom resource definition "+name+" is terminating")
	require.NotEmpty(t, framework.Kubectl(t, a.Kubeconfig, "get", "widget", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"))

	framework.Kubectl(t, a.Kubeconfig, "patch", "widget", "held", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		_, _, err := framework.KubectlResult(t, a.Kubeconfig, "", "get", "crd", name)
		return err != nil, nil
	}, "the CRD was not deleted")
	framework.Eventually(t, discoveryPollTimeout, func(context.Context) (bool, error) {
		return !strings.Contains(framework.Kubectl(t, a.Kubeconfig, "api-resources"), group), nil
	}, "discovery still lists the deleted CRD's resource")
	_, err := a.Dynamic.Resource(widgetsGVR(group)).Namespace("default").Get(ctx, "held", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "got %v", err)

	// The other account keeps its CRD and object.
	require.Equal(t, "2", framework.Kubectl(t, b.Kubeconfig, "get", "widget", "held", "-o", "jsonpath={.spec.size}"))
	require.Contains(t, framework.Kubectl(t, b.Kubeconfig, "api-resources"), group)

	// Deleting an account leaves none of its custom resources in etcd.
	framework.Kubectl(t, server.Kubeconfig, "delete", "account", b.Name, "--timeout=120s")
	resp, err := etcdClient.Get(ctx, "/registry/"+group+"/widgets/"+b.ClusterID+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	require.Empty(t, resp.Kvs, "custom resources of the deleted account remain in etcd")
}

// TestCRDScale applies prometheus-operator's Alertmanager CRD (scale subresource) and scales an
// Alertmanager with kubectl.
func TestCRDScale(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	// Client-side apply would exceed the annotation size limit with this CRD.
	applyCRD(t, a, alertmanagerCRDFile, alertmanagerCRD, "--server-side")
	framework.KubectlStdin(t, a.Kubeconfig, "apiVersion: monitoring.coreos.com/v1\nkind: Alertmanager\nmetadata: {name: main, namespace: default}\nspec: {replicas: 1}\n", "apply", "-f", "-")
	framework.Kubectl(t, a.Kubeconfig, "scale", "alertmanager/main", "--replicas=3")
	require.Equal(t, "3", framework.Kubectl(t, a.Kubeconfig, "get", "am", "main", "-o", "jsonpath={.spec.replicas}"))
	scale := framework.Kubectl(t, a.Kubeconfig, "get", "alertmanager", "main", "--subresource=scale", "-o", "jsonpath={.kind} {.spec.replicas}")
	require.Equal(t, "Scale 3", scale)
	header, _ := kubectlTable(t, framework.Kubectl(t, a.Kubeconfig, "get", "am"))
	require.Contains(t, header, "REPLICAS")
}

// TestCRDFirstRequestsServed sends a burst of lists, from the watch cache and consistent, as
// the first requests to a newly established CRD: each is answered at once. A watch cache that
// is still filling answers 429 with Retry-After: 1, and clients would wait a second.
func TestCRDFirstRequestsServed(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	group := randomGroup()
	applyWidgetCRD(t, a, group, "")

	var mu sync.Mutex
	codes := map[int]int{}
	cfg := rest.CopyConfig(a.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			if err == nil {
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
			return resp, err
		})
	})
	widgets := dynamic.NewForConfigOrDie(cfg).Resource(widgetsGVR(group)).Namespace("default")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			opts := metav1.ListOptions{}
			if i%2 == 0 {
				opts.ResourceVersion = "0"
			}
			_, err := widgets.List(t.Context(), opts)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, map[int]int{http.StatusOK: 16}, codes, "status codes of the first lists")
}

// TestCRDWildcard lists a custom resource across all accounts that define it identically, and
// refuses when accounts define it differently.
func TestCRDWildcard(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	a1 := server.NewAccount(t, "root")
	a2 := server.NewAccount(t, "root")
	other := server.NewAccount(t, "root")
	applyWidgetCRD(t, a1, group, "")
	applyWidgetCRD(t, a2, group, "")
	applyWidgetCRD(t, other, group, "              color: {type: string}\n")
	for _, acc := range []*framework.Account{a1, a2, other} {
		framework.KubectlStdin(t, acc.Kubeconfig, widgetYAML(group, "w-"+acc.Name, 1), "apply", "-f", "-")
	}
	all, err := dynamic.NewForConfig(server.ConfigFor("*"))
	require.NoError(t, err)
	_, err = all.Resource(widgetsGVR(group)).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsConflict(err), "two schemas for one resource: got %v", err)
	require.Contains(t, err.Error(), "2 different schemas")

	framework.Kubectl(t, other.Kubeconfig, "delete", "crd", "widgets."+group, "--timeout=60s")
	var names []string
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		list, err := all.Resource(widgetsGVR(group)).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		names = nil
		for _, item := range list.Items {
			names = append(names, item.GetName())
		}
		return len(names) == 2, nil
	}, "the wildcard does not list the two accounts' widgets")
	require.ElementsMatch(t, []string{"w-" + a1.Name, "w-" + a2.Name}, names)
}

// widgetReadier marks every Widget ready through the status subresource.
type widgetReadier struct {
	client ctrlclient.Client
	gvk    schema.GroupVersionKind
}

func (r *widgetReadier) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(r.gvk)
	if err := r.client.Get(ctx, req.NamespacedName, u); err != nil {
		return ctrl.Result{}, ctrlclient.IgnoreNotFound(err)
	}
	size, _, _ := unstructured.NestedInt64(u.Object, "spec", "size")
	if err := unstructured.SetNestedField(u.Object, fmt.Sprintf("size-%d", size), "status", "ready"); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.client.Status().Update(ctx, u)
}

// TestCRDControllerRuntime runs a controller-runtime manager with an unstructured client
// against one account; it reconciles a custom resource and writes its status.
func TestCRDControllerRuntime(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	applyWidgetCRD(t, a, group, "")
	applyWidgetCRD(t, b, group, "")
	gvk := schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"}
	mgr, err := ctrl.NewManager(rest.CopyConfig(a.Config), ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	require.NoError(t, err)
	forType := &unstructured.Unstructured{}
	forType.SetGroupVersionKind(gvk)
	require.NoError(t, ctrl.NewControllerManagedBy(mgr).
		For(forType).
		WithOptions(controller.Options{SkipNameValidation: ptrTo(true)}).
		Complete(&widgetReadier{client: mgr.GetClient(), gvk: gvk}))
	startManager(t, mgr)

	for _, acc := range []*framework.Account{a, b} {
		framework.KubectlStdin(t, acc.Kubeconfig, widgetYAML(group, "w", 7), "apply", "-f", "-")
	}
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		return framework.Kubectl(t, a.Kubeconfig, "get", "widget", "w", "-o", "jsonpath={.status.ready}") == "size-7", nil
	}, "the controller did not write the status")
	_, rows := kubectlTable(t, framework.Kubectl(t, a.Kubeconfig, "get", "wg"))
	require.Equal(t, "size-7", rows[0]["READY"])
	require.Equal(t, "7", rows[0]["SIZE"])
	require.Empty(t, framework.Kubectl(t, b.Kubeconfig, "get", "widget", "w", "-o", "jsonpath={.status.ready}"), "the manager of one account wrote into another")
}

// TestCRDSelectableFieldsAndSchemaChange lists with a field selector on a CRD's selectable field
// and checks that a watch ends when the account's CRD changes, so clients re-list against the
// new schema.
func TestCRDSelectableFieldsAndSchemaChange(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	a := server.NewAccount(t, "root")
	selectable := strings.Replace(widgetCRD(group, "              color: {type: string}\n"),
		"    subresources: {status: {}}\n", "    subresources: {status: {}}\n    selectableFields: [{jsonPath: .spec.color}]\n", 1)
	framework.KubectlStdin(t, a.Kubeconfig, selectable, "apply", "-f", "-")
	waitEstablished(t, a.Kubeconfig, "widgets."+group)
	for _, color := range []string{"red", "blue"} {
		framework.KubectlStdin(t, a.Kubeconfig, strings.Replace(widgetYAML(group, color, 1), "spec: {size: 1}", "spec: {size: 1, color: "+color+"}", 1), "apply", "-f", "-")
	}
	require.Equal(t, "red", framework.Kubectl(t, a.Kubeconfig, "get", "widgets", "--field-selector", "spec.color=red", "-o", "jsonpath={.items[*].metadata.name}"))
	require.Equal(t, "blue", framework.Kubectl(t, a.Kubeconfig, "get", "widgets", "--field-selector", "spec.color!=red", "-o", "jsonpath={.items[*].metadata.name}"))
	out := framework.KubectlFails(t, a.Kubeconfig, "", "get", "widgets", "--field-selector", "spec.size=1")
	require.Contains(t, out, "field label not supported: spec.size")

	w, err := a.Dynamic.Resource(widgetsGVR(group)).Namespace("default").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()
	// Changing the schema gives the account a new identity: the watch ends.
	framework.KubectlStdin(t, a.Kubeconfig, strings.Replace(selectable, "              color: {type: string}\n", "              color: {type: string}\n              shape: {type: string}\n", 1), "apply", "-f", "-")
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, open := <-w.ResultChan():
			if !open {
				// A new watch sees the new schema.
				framework.KubectlStdin(t, a.Kubeconfig, strings.Replace(widgetYAML(group, "shaped", 1), "spec: {size: 1}", "spec: {size: 1, shape: round}", 1), "apply", "-f", "-")
				require.Equal(t, "round", framework.Kubectl(t, a.Kubeconfig, "get", "widget", "shaped", "-o", "jsonpath={.spec.shape}"))
				return
			}
		case <-deadline:
			t.Fatal("the watch did not end after the CRD changed")
		}
	}
}
