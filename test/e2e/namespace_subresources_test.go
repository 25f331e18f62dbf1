package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// fakeFinalizer is the extra spec finalizer upstream's namespace e2e tests apply.
const fakeFinalizer corev1.FinalizerName = "e2e.example.com/fakeFinalizer"

// finalize replaces the spec finalizers of a namespace through its finalize subresource,
// retrying on conflicts as upstream's e2e test does, and returns the namespace as stored.
func finalize(t *testing.T, kube kubernetes.Interface, name string, change func(*corev1.Namespace)) (*corev1.Namespace, error) {
	t.Helper()
	var out *corev1.Namespace
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := kube.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(ns)
		out, err = kube.CoreV1().Namespaces().Finalize(t.Context(), ns, metav1.UpdateOptions{})
		return err
	})
	return out, err
}

// TestNamespaceFinalize follows upstream's "should apply a finalizer to a Namespace": a PUT of
// the finalize subresource changes the spec finalizers and nothing else, the main resource
// cannot change them, and a deleted namespace stays Terminating, emptied, until finalize
// removes its last spec finalizer.
func TestNamespaceFinalize(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	nsClient := acc.Kube.CoreV1().Namespaces()
	name := framework.RandomName("fin-")
	created, err := nsClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, []corev1.FinalizerName{corev1.FinalizerKubernetes}, created.Spec.Finalizers, "new namespaces get the kubernetes spec finalizer")
	require.Empty(t, created.Finalizers, "and no metadata finalizer")

	// The main resource ignores changes of the spec finalizers.
	created.Spec.Finalizers = append(created.Spec.Finalizers, fakeFinalizer)
	created.Labels["e2e"] = "updated"
	updated, err := nsClient.Update(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, "updated", updated.Labels["e2e"], "the update is applied")
	require.Equal(t, []corev1.FinalizerName{corev1.FinalizerKubernetes}, updated.Spec.Finalizers, "but not to the spec finalizers")

	// Finalize applies the extra spec finalizer and ignores everything else.
	finalized, err := finalize(t, acc.Kube, name, func(ns *corev1.Namespace) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, fakeFinalizer)
		ns.Labels["e2e"] = "finalized"
		ns.Status.Phase = corev1.NamespaceTerminating
	})
	require.NoError(t, err)
	require.Equal(t, []corev1.FinalizerName{corev1.FinalizerKubernetes, fakeFinalizer}, finalized.Spec.Finalizers)
	require.Equal(t, "updated", finalized.Labels["e2e"], "finalize changes nothing but the spec finalizers")
	require.Equal(t, corev1.NamespaceActive, finalized.Status.Phase)
	got, err := nsClient.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, finalized.Spec.Finalizers, got.Spec.Finalizers, "the extra finalizer is stored")

	// A finalizer name that is neither standard nor qualified is refused and changes nothing.
	_, err = finalize(t, acc.Kube, name, func(ns *corev1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "fake") })
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	require.Contains(t, err.Error(), "spec.finalizers[2]")
	got, err = nsClient.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, finalized.ResourceVersion, got.ResourceVersion, "a refused finalize changes nothing")

	// The finalize subresource is PUT only, as upstream.
	_, err = nsClient.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"finalizers":[]}}`), metav1.PatchOptions{}, "finalize")
	require.True(t, apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err), "want 405, got %v", err)

	// Deleting the namespace empties it and removes kubernetes; the extra finalizer holds it.
	_, err = acc.Kube.CoreV1().ConfigMaps(name).Create(ctx, configMap("content", nil, map[string]string{"k": "v"}), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, nsClient.Delete(ctx, name, metav1.DeleteOptions{}))
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return slices.Equal(ns.Spec.Finalizers, []corev1.FinalizerName{fakeFinalizer}), nil
	}, "the namespace controller did not finalize the namespace")
	ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.NamespaceTerminating, ns.Status.Phase)
	require.NotNil(t, ns.DeletionTimestamp)
	_, err = acc.Kube.CoreV1().ConfigMaps(name).Get(ctx, "content", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the content is deleted: %v", err)
	// Another DELETE does not remove it either, while a spec finalizer remains.
	require.NoError(t, nsClient.Delete(ctx, name, metav1.DeleteOptions{}))
	_, err = nsClient.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err, "a spec finalizer holds the namespace")

	// Removing the last spec finalizer, with kubectl as operators do (the raw path names the
	// account), removes the namespace.
	ns.Spec.Finalizers = nil
	body, err := json.Marshal(ns)
	require.NoError(t, err)
	framework.KubectlStdin(t, acc.Kubeconfig, string(body), "replace", "--raw", "/clusters/"+acc.Path+"/api/v1/namespaces/"+name+"/finalize", "-f", "-")
	_, err = nsClient.Get(ctx, name, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the namespace is deleted with its last finalizer: %v", err)
}

// TestNamespaceWithoutFinalizersIsDeletedAtOnce deletes a namespace whose spec finalizers were
// all removed: nothing holds it, so it goes with the DELETE.
func TestNamespaceWithoutFinalizersIsDeletedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	name := framework.RandomName("nofin-")
	framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", name)
	_, err := finalize(t, acc.Kube, name, func(ns *corev1.Namespace) { ns.Spec.Finalizers = nil })
	require.NoError(t, err)
	require.NoError(t, acc.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}))
	_, err = acc.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "want NotFound, got %v", err)

	// A namespace held by a metadata finalizer is Terminating until that goes.
	held := framework.RandomName("held-")
	_, err = acc.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: held, Finalizers: []string{"example.com/hold"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, acc.Kube.CoreV1().Namespaces().Delete(ctx, held, metav1.DeleteOptions{}))
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := acc.Kube.CoreV1().Namespaces().Get(ctx, held, metav1.GetOptions{})
		return err == nil && len(ns.Spec.Finalizers) == 0 && ns.Status.Phase == corev1.NamespaceTerminating, nil
	}, "the namespace controller did not finalize the namespace")
	_, err = acc.Kube.CoreV1().Namespaces().Patch(ctx, held, types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{})
	require.NoError(t, err)
	_, err = acc.Kube.CoreV1().Namespaces().Get(ctx, held, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the namespace goes with its last metadata finalizer: %v", err)
}

// TestNamespaceStatus follows upstream's "should apply changes to a namespace status": the
// status subresource reads, patches and updates status conditions (and, as upstream, labels and
// annotations, never the spec), and the main resource ignores status.
func TestNamespaceStatus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	name := framework.RandomName("status-")
	framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", name)
	nsClient := acc.Kube.CoreV1().Namespaces()
	nsResource := corev1.SchemeGroupVersion.WithResource("namespaces")

	u, err := acc.Dynamic.Resource(nsResource).Get(ctx, name, metav1.GetOptions{}, "status")
	require.NoError(t, err)
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	require.Equal(t, string(corev1.NamespaceActive), phase)

	patched, err := nsClient.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"annotations":{"e2e-patched-ns-status":"`+name+`"}},`+
		`"status":{"conditions":[{"type":"StatusPatch","status":"True","reason":"E2E","message":"Patched by an e2e test"}]}}`), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	require.Equal(t, name, patched.Annotations["e2e-patched-ns-status"], "a status patch changes annotations too, as upstream")
	require.Len(t, patched.Status.Conditions, 1)
	require.Equal(t, corev1.NamespaceConditionType("StatusPatch"), patched.Status.Conditions[0].Type)

	var statusUpdated *corev1.Namespace
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ns.Status.Conditions = append(ns.Status.Conditions, corev1.NamespaceCondition{
			Type: "StatusUpdate", Status: corev1.ConditionTrue, Reason: "E2E", Message: "Updated by an e2e test",
		})
		statusUpdated, err = nsClient.UpdateStatus(ctx, ns, metav1.UpdateOptions{})
		return err
	}))
	require.Len(t, statusUpdated.Status.Conditions, 2)
	require.Equal(t, corev1.NamespaceConditionType("StatusUpdate"), statusUpdated.Status.Conditions[1].Type)

	// kubectl patches status the same way; an invalid phase is refused.
	framework.Kubectl(t, acc.Kubeconfig, "patch", "namespace", name, "--subresource=status", "--type=strategic",
		"-p", `{"status":{"conditions":[{"type":"StatusPatch","status":"False","reason":"E2E","message":"again"}]}}`)
	out := framework.Kubectl(t, acc.Kubeconfig, "get", "namespace", name, "-o", `jsonpath={.status.conditions[?(@.type=="StatusPatch")].status}`)
	require.Equal(t, "False", out)
	errOut := framework.KubectlFails(t, acc.Kubeconfig, "", "patch", "namespace", name, "--subresource=status", "--type=merge",
		"-p", `{"status":{"phase":"Terminating"}}`)
	require.Contains(t, errOut, "status.phase")

	// The main resource ignores status changes.
	ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	ns.Status.Conditions = nil
	ns.Labels["e2e"] = "main"
	updated, err := nsClient.Update(ctx, ns, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, "main", updated.Labels["e2e"])
	require.Len(t, updated.Status.Conditions, 2, "an update of the main resource keeps the status")

	// As upstream's "should apply an update to a Namespace" and "should patch a Namespace".
	framework.Kubectl(t, acc.Kubeconfig, "label", "namespace", name, "e2e-run=patched")
	require.Equal(t, "patched", framework.Kubectl(t, acc.Kubeconfig, "get", "namespace", name, "-o", "jsonpath={.metadata.labels.e2e-run}"))
}
