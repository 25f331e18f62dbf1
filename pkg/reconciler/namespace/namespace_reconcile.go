package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// finalizer is the spec finalizer the server puts on every new namespace. This controller
// removes it through the finalize subresource once the namespace is empty.
const finalizer = corev1.FinalizerKubernetes

// legacyFinalizer is the metadata finalizer that namespaces created by earlier versions of the
// server carry instead of finalizer. This controller moves it to the spec of an active
// namespace, and empties a deleted one that still has it before removing it with an update,
// so that namespaces from before an upgrade end up as new ones and can be deleted.
const legacyFinalizer = string(corev1.FinalizerKubernetes)

// Reasons of the namespace deletion conditions.
const (
	reasonDiscoveryFailed       = "DiscoveryFailed"
	reasonResourcesDiscovered   = "ResourcesDiscovered"
	reasonContentDeletionFailed = "ContentDeletionFailed"
	reasonContentDeleted        = "ContentDeleted"
	reasonSomeResourcesRemain   = "SomeResourcesRemain"
	reasonContentRemoved        = "ContentRemoved"
	reasonSomeFinalizersRemain  = "SomeFinalizersRemain"
	reasonContentHasNoFinalizer = "ContentHasNoFinalizers"
)

// errContentRemaining reports that a deleted namespace still holds objects. It is not a
// failure (controller.Expected): the namespace is retried with backoff until they are gone.
var errContentRemaining = errors.New("namespace content remains")

// namespaceKey identifies a namespace across accounts.
type namespaceKey struct {
	cluster string
	name    string
}

// String names the namespace in logs.
func (k namespaceKey) String() string { return k.cluster + "|" + k.name }

// reconciler finalizes deleted namespaces. Its function fields are the only way it reaches the
// server; each works in the account it is given.
type reconciler struct {
	getNamespace func(ctx context.Context, cluster, name string) (*corev1.Namespace, error)
	updateStatus func(ctx context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error)
	update       func(ctx context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error)
	// finalize writes the spec finalizers of a namespace through its finalize subresource.
	finalize func(ctx context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error)
	// discover returns the preferred namespaced resources of an account. With an error it may
	// still return the resources of the groups that were discovered.
	discover         func(ctx context.Context, cluster string) ([]*metav1.APIResourceList, error)
	deleteCollection func(ctx context.Context, cluster, namespace string, gvr schema.GroupVersionResource) error
	// listOne lists at most one object of a resource in a namespace.
	listOne func(ctx context.Context, cluster, namespace string, gvr schema.GroupVersionResource) (*metav1.PartialObjectMetadataList, error)
}

// reconcile deletes the content of a deleted namespace and removes its finalizer once the
// namespace is empty. It returns an error wrapping errContentRemaining while objects remain.
// Each step reads what it needs from the namespace as stored, so a reconcile interrupted
// anywhere (by a crash or a conflict) is picked up by the next one.
func (r *reconciler) reconcile(ctx context.Context, key namespaceKey) error {
	ns, err := r.getNamespace(ctx, key.cluster, key.name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to get namespace: %w", err)
	}
	if ns.DeletionTimestamp == nil {
		return r.migrate(ctx, key.cluster, ns)
	}
	if !waitsForController(ns) {
		return nil
	}
	found := r.deleteContent(ctx, key.cluster, ns.Name)
	ns, err = r.writeStatus(ctx, key.cluster, ns, desiredStatus(ns.Status, found, metav1.Now()))
	if err != nil {
		return err
	}
	if err := found.err(); err != nil {
		return err
	}
	return r.release(ctx, key.cluster, ns)
}

// waitsForController reports whether a namespace is deleted and still waits for this
// controller: it has finalizer in its spec, or legacyFinalizer in its metadata.
func waitsForController(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp != nil &&
		(slices.Contains(ns.Spec.Finalizers, finalizer) || slices.Contains(ns.Finalizers, legacyFinalizer))
}

// content is what deleting the content of a namespace found.
type content struct {
	// discoveryErr is set when some or all API groups of the account could not be discovered.
	discoveryErr error
	// deleteErrs are the failures to delete or list the objects of a resource.
	deleteErrs []error
	// remaining estimates the objects left per resource.
	remaining map[schema.GroupResource]int64
	// finalizers are the finalizers seen on remaining objects.
	finalizers sets.Set[string]
}

// err returns why the namespace cannot be released yet, or nil when it is empty.
func (c content) err() error {
	var errs []error
	if c.discoveryErr != nil {
		errs = append(errs, c.discoveryErr)
	}
	errs = append(errs, c.deleteErrs...)
	if len(errs) > 0 {
		return fmt.Errorf("failed to delete namespace content: %w", utilerrors.NewAggregate(errs))
	}
	if len(c.remaining) > 0 {
		return controller.Expected(fmt.Errorf("%w: %s", errContentRemaining, remainingMessage(c.remaining)))
	}
	return nil
}

// deleteContent deletes every deletable namespaced resource of the account in the namespace
// and checks which ones still have objects.
func (r *reconciler) deleteContent(ctx context.Context, cluster, namespace string) content {
	found := content{remaining: map[schema.GroupResource]int64{}, finalizers: sets.New[string]()}
	lists, err := r.discover(ctx, cluster)
	if err != nil {
		found.discoveryErr = err
	}
	for _, gvr := range deletableResources(lists) {
		r.deleteResource(ctx, cluster, namespace, gvr, &found)
	}
	return found
}

// deleteResource deletes the objects of one resource in the namespace and records what is left.
func (r *reconciler) deleteResource(ctx context.Context, cluster, namespace string, gvr schema.GroupVersionResource, found *content) {
	gr := gvr.GroupResource()
	if err := r.deleteCollection(ctx, cluster, namespace, gvr); err != nil && !apierrors.IsNotFound(err) {
		found.deleteErrs = append(found.deleteErrs, fmt.Errorf("failed to delete %s: %w", gr, err))
		return
	}
	list, err := r.listOne(ctx, cluster, namespace, gvr)
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		found.deleteErrs = append(found.deleteErrs, fmt.Errorf("failed to list %s: %w", gr, err))
		return
	}
	if len(list.Items) == 0 {
		return
	}
	count := int64(len(list.Items))
	if list.RemainingItemCount != nil {
		count += *list.RemainingItemCount
	}
	found.remaining[gr] = count
	for _, item := range list.Items {
		found.finalizers.Insert(item.Finalizers...)
	}
	klog.FromContext(ctx).V(4).Info("Namespace content remains", "resource", gr, "count", count)
}

// deletableResources returns the resources of discovery lists that can be deleted by
// collection and listed, sorted so that reconciles are repeatable.
func deletableResources(lists []*metav1.APIResourceList) []schema.GroupVersionResource {
	var out []schema.GroupVersionResource
	for _, list := range lists {
		if list == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range list.APIResources {
			if strings.Contains(res.Name, "/") || !slices.Contains(res.Verbs, "deletecollection") || !slices.Contains(res.Verbs, "list") {
				continue
			}
			out = append(out, gv.WithResource(res.Name))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// desiredStatus returns the status of a terminating namespace after a deletion pass.
func desiredStatus(current corev1.NamespaceStatus, found content, now metav1.Time) corev1.NamespaceStatus {
	status := *current.DeepCopy()
	status.Phase = corev1.NamespaceTerminating

	discovery := condition(corev1.NamespaceDeletionDiscoveryFailure, reasonResourcesDiscovered, "All resources were discovered")
	if found.discoveryErr != nil {
		discovery = failed(discovery, reasonDiscoveryFailed, found.discoveryErr.Error())
	}
	deletion := condition(corev1.NamespaceDeletionContentFailure, reasonContentDeleted, "All content was deleted")
	if len(found.deleteErrs) > 0 {
		deletion = failed(deletion, reasonContentDeletionFailed, utilerrors.NewAggregate(found.deleteErrs).Error())
	}
	remaining := condition(corev1.NamespaceContentRemaining, reasonContentRemoved, "All content was removed")
	if len(found.remaining) > 0 {
		remaining = failed(remaining, reasonSomeResourcesRemain, "Resources remain: "+remainingMessage(found.remaining))
	}
	finalizers := condition(corev1.NamespaceFinalizersRemaining, reasonContentHasNoFinalizer, "No remaining content has finalizers")
	if found.finalizers.Len() > 0 {
		finalizers = failed(finalizers, reasonSomeFinalizersRemain,
			"Remaining content has finalizers: "+strings.Join(sets.List(found.finalizers), ", "))
	}
	for _, c := range []corev1.NamespaceCondition{discovery, deletion, remaining, finalizers} {
		setCondition(&status, c, now)
	}
	return status
}

// condition returns a condition of the given type that reports no problem.
func condition(t corev1.NamespaceConditionType, reason, message string) corev1.NamespaceCondition {
	return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: message}
}

// failed turns a condition into one that reports a problem.
func failed(c corev1.NamespaceCondition, reason, message string) corev1.NamespaceCondition {
	c.Status, c.Reason, c.Message = corev1.ConditionTrue, reason, message
	return c
}

// setCondition sets a condition, keeping its transition time while its status is unchanged.
func setCondition(status *corev1.NamespaceStatus, c corev1.NamespaceCondition, now metav1.Time) {
	for i := range status.Conditions {
		existing := &status.Conditions[i]
		if existing.Type != c.Type {
			continue
		}
		c.LastTransitionTime = existing.LastTransitionTime
		if existing.Status != c.Status {
			c.LastTransitionTime = now
		}
		*existing = c
		return
	}
	c.LastTransitionTime = now
	status.Conditions = append(status.Conditions, c)
}

// remainingMessage lists resources with their remaining object counts, sorted by resource.
func remainingMessage(remaining map[schema.GroupResource]int64) string {
	parts := make([]string, 0, len(remaining))
	for gr, n := range remaining {
		parts = append(parts, fmt.Sprintf("%s (%d)", gr, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// writeStatus writes the status of a namespace unless it is unchanged, and returns the
// namespace as stored.
func (r *reconciler) writeStatus(ctx context.Context, cluster string, ns *corev1.Namespace, status corev1.NamespaceStatus) (*corev1.Namespace, error) {
	if apiequality.Semantic.DeepEqual(ns.Status, status) {
		return ns, nil
	}
	updated := ns.DeepCopy()
	updated.Status = status
	stored, err := r.updateStatus(ctx, cluster, updated)
	if err != nil {
		return nil, fmt.Errorf("failed to update namespace status: %w", err)
	}
	return stored, nil
}

// release removes this controller's finalizers from an emptied namespace: finalizer through
// the finalize subresource, then legacyFinalizer with an update. The server deletes the
// namespace with the write that leaves it without finalizers.
func (r *reconciler) release(ctx context.Context, cluster string, ns *corev1.Namespace) error {
	if slices.Contains(ns.Spec.Finalizers, finalizer) {
		var err error
		without := slices.DeleteFunc(slices.Clone(ns.Spec.Finalizers), func(f corev1.FinalizerName) bool { return f == finalizer })
		if ns, err = r.writeSpecFinalizers(ctx, cluster, ns, without); ns == nil || err != nil {
			return err
		}
	}
	if err := r.removeLegacyFinalizer(ctx, cluster, ns); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Released namespace")
	return nil
}

// migrate gives an active namespace of an earlier version finalizer in place of
// legacyFinalizer: first the spec finalizer, then the metadata one goes, so that a crash in
// between leaves both, never neither.
func (r *reconciler) migrate(ctx context.Context, cluster string, ns *corev1.Namespace) error {
	if !slices.Contains(ns.Finalizers, legacyFinalizer) {
		return nil
	}
	if !slices.Contains(ns.Spec.Finalizers, finalizer) {
		var err error
		with := append(slices.Clone(ns.Spec.Finalizers), finalizer)
		if ns, err = r.writeSpecFinalizers(ctx, cluster, ns, with); ns == nil || err != nil {
			return err
		}
	}
	if err := r.removeLegacyFinalizer(ctx, cluster, ns); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Moved the legacy namespace finalizer to the spec")
	return nil
}

// writeSpecFinalizers sets the spec finalizers of a namespace through its finalize
// subresource and returns the namespace as stored, or nil if it is gone.
func (r *reconciler) writeSpecFinalizers(ctx context.Context, cluster string, ns *corev1.Namespace, finalizers []corev1.FinalizerName) (*corev1.Namespace, error) {
	updated := ns.DeepCopy()
	updated.Spec.Finalizers = finalizers
	stored, err := r.finalize(ctx, cluster, updated)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, expectConflict(fmt.Errorf("failed to write the namespace's spec finalizers: %w", err))
	}
	return stored, nil
}

// removeLegacyFinalizer removes legacyFinalizer from a namespace that has it.
func (r *reconciler) removeLegacyFinalizer(ctx context.Context, cluster string, ns *corev1.Namespace) error {
	if !slices.Contains(ns.Finalizers, legacyFinalizer) {
		return nil
	}
	updated := ns.DeepCopy()
	updated.Finalizers = slices.DeleteFunc(updated.Finalizers, func(f string) bool { return f == legacyFinalizer })
	if _, err := r.update(ctx, cluster, updated); err != nil && !apierrors.IsNotFound(err) {
		return expectConflict(fmt.Errorf("failed to remove the legacy namespace finalizer: %w", err))
	}
	return nil
}

// expectConflict marks err as expected when it is a conflict: someone else wrote the namespace
// meanwhile, and the retry reads it again.
func expectConflict(err error) error {
	if apierrors.IsConflict(err) {
		return controller.Expected(err)
	}
	return err
}
