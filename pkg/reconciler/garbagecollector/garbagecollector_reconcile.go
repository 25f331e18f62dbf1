package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// errNamespacedOwner reports a cluster-scoped dependent whose owner reference names a
// namespaced kind. Such a reference can never resolve.
var errNamespacedOwner = errors.New("cluster-scoped object cannot be owned by a namespaced object")

// ownerState is what an owner reference of a dependent resolves to.
type ownerState int

const (
	// ownerPresent: the owner exists and does not wait for its dependents to be deleted.
	ownerPresent ownerState = iota
	// ownerAbsent: the owner is gone, or its name now belongs to another object.
	ownerAbsent
	// ownerWaiting: the owner is deleted in the foreground and waits for its dependents.
	ownerWaiting
	// ownerUnresolvable: the reference can never resolve. As upstream, such a reference keeps
	// the dependent instead of getting it collected.
	ownerUnresolvable
)

// graphReader is the part of the graph the steps read.
type graphReader interface {
	get(key objectKey) (object, bool)
	dependents(key objectKey) []object
}

// reconciler collects one object of the graph at a time. Its function fields are the only way
// it reaches the server; each works in the account of the object it is given.
type reconciler struct {
	graph graphReader
	// graphSynced reports whether the graph holds every watched resource; until it does, an
	// owner waiting for its dependents might not see them all. nil means always.
	graphSynced func() bool
	// getObject reads an object live.
	getObject func(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error)
	// getOwner reads the owner that ref, held by a dependent in namespace, names.
	getOwner func(ctx context.Context, cluster, namespace string, ref metav1.OwnerReference) (*metav1.PartialObjectMetadata, error)
	// patch applies a JSON merge patch to an object.
	patch func(ctx context.Context, id identity, data []byte) error
	// delete deletes an object if it still has its UID.
	delete func(ctx context.Context, id identity, policy metav1.DeletionPropagation) error
	// enqueue queues an object for collection.
	enqueue func(key objectKey)
}

// reconcile processes the object key names, as an owner being deleted or as a dependent. It
// asks to look at an owner waiting for its dependents again later while the graph is not
// synced.
func (r *reconciler) reconcile(ctx context.Context, key objectKey) (time.Duration, error) {
	o, ok := r.graph.get(key)
	if !ok {
		return 0, nil
	}
	if (o.deletingDependents() || o.orphaningDependents()) && r.graphSynced != nil && !r.graphSynced() {
		klog.FromContext(ctx).V(4).Info("Owner waits for the graph to sync")
		return unsyncedRetry, nil
	}
	switch {
	case o.deletingDependents():
		return 0, r.deleteDependents(ctx, o)
	case o.orphaningDependents():
		return 0, r.orphanDependents(ctx, o)
	case o.beingDeleted || len(o.owners) == 0:
		return 0, nil
	default:
		return 0, r.collect(ctx, o)
	}
}

// deleteDependents handles an owner deleted in the foreground: it queues its dependents for
// deletion and removes the foregroundDeletion finalizer once none of them blocks it.
func (r *reconciler) deleteDependents(ctx context.Context, owner object) error {
	toCollect, blocked := planForeground(owner, r.graph.dependents(owner.key()))
	for _, key := range toCollect {
		r.enqueue(key)
	}
	if blocked {
		klog.FromContext(ctx).V(4).Info("Owner waits for blocking dependents")
		return nil
	}
	return r.removeFinalizer(ctx, owner.identity, metav1.FinalizerDeleteDependents)
}

// planForeground returns the dependents of an owner deleted in the foreground that still have
// to be deleted, and whether one of them blocks the owner's deletion.
func planForeground(owner object, dependents []object) (toCollect []objectKey, blocked bool) {
	for _, d := range dependents {
		ref, ok := ownerRef(owner, d)
		if !ok {
			continue
		}
		if ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
			blocked = true
		}
		if !d.beingDeleted {
			toCollect = append(toCollect, d.key())
		}
	}
	return toCollect, blocked
}

// orphanDependents handles an owner deleted with the orphan policy: it removes the references
// to the owner from all its dependents, then the orphan finalizer.
func (r *reconciler) orphanDependents(ctx context.Context, owner object) error {
	var errs []error
	for _, d := range r.graph.dependents(owner.key()) {
		if err := r.dropOwner(ctx, d.identity, owner.uid); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("failed to orphan dependents: %w", utilerrors.NewAggregate(errs))
	}
	return r.removeFinalizer(ctx, owner.identity, metav1.FinalizerOrphanDependents)
}

// dropOwner removes the references to one owner from a dependent.
func (r *reconciler) dropOwner(ctx context.Context, id identity, owner types.UID) error {
	latest, err := r.latest(ctx, id)
	if latest == nil {
		return err
	}
	owners := slices.DeleteFunc(slices.Clone(latest.OwnerReferences), func(ref metav1.OwnerReference) bool { return ref.UID == owner })
	if len(owners) == len(latest.OwnerReferences) {
		return nil
	}
	if err := r.patchMetadata(ctx, id, latest, "ownerReferences", owners); err != nil {
		return fmt.Errorf("failed to orphan %s %s: %w", id.resource.GVR.Resource, id.name, err)
	}
	klog.FromContext(ctx).V(2).Info("Orphaned dependent", "resource", id.resource.GVR, "namespace", id.namespace, "name", id.name)
	return nil
}

// collect handles a dependent: it deletes it when no owner is left and removes references to
// owners that are gone. Only when the graph does not show all owners present does it read the
// dependent and its missing owners live.
func (r *reconciler) collect(ctx context.Context, o object) error {
	if r.ownersPresent(o) {
		return nil
	}
	latest, err := r.latest(ctx, o.identity)
	if latest == nil || latest.DeletionTimestamp != nil || len(latest.OwnerReferences) == 0 {
		return err
	}
	states := make(map[types.UID]ownerState, len(latest.OwnerReferences))
	for _, ref := range latest.OwnerReferences {
		state, err := r.ownerState(ctx, o.identity, ref)
		if err != nil {
			return err
		}
		states[ref.UID] = state
	}
	p := planCollection(latest.OwnerReferences, states, latest.Finalizers, r.hasDependentDeletingDependents(o))
	if p.patch {
		if err := r.patchMetadata(ctx, o.identity, latest, "ownerReferences", p.owners); err != nil {
			return fmt.Errorf("failed to update owner references: %w", err)
		}
		klog.FromContext(ctx).V(2).Info("Updated owner references", "resource", o.resource.GVR, "namespace", o.namespace, "name", o.name)
	}
	if p.policy == "" {
		return nil
	}
	if err := r.delete(ctx, o.identity, p.policy); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("failed to delete dependent: %w", err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted dependent", "resource", o.resource.GVR, "namespace", o.namespace, "name", o.name, "policy", p.policy)
	return nil
}

// ownerState resolves an owner reference of a dependent: from the graph when it holds the
// owner, else with a live request, since the graph may lag behind the server.
func (r *reconciler) ownerState(ctx context.Context, dependent identity, ref metav1.OwnerReference) (ownerState, error) {
	if owner, ok := r.graph.get(objectKey{cluster: dependent.cluster, uid: ref.UID}); ok && refers(ref, owner, dependent.namespace) {
		return stateOf(owner.beingDeleted, owner.finalizers), nil
	}
	live, err := r.getOwner(ctx, dependent.cluster, dependent.namespace, ref)
	switch {
	case errors.Is(err, errUnknownKind):
		// As upstream, a kind the account does not serve (yet) keeps the dependent: it is
		// retried, never collected.
		return 0, controller.Expected(fmt.Errorf("failed to resolve owner %s %s: %w", ref.Kind, ref.Name, err))
	case apierrors.IsNotFound(err):
		return ownerAbsent, nil
	case errors.Is(err, errNamespacedOwner):
		klog.FromContext(ctx).V(2).Info("Ignoring owner reference to a namespaced kind", "kind", ref.Kind, "owner", ref.Name)
		return ownerUnresolvable, nil
	case err != nil:
		return 0, fmt.Errorf("failed to get owner %s %s: %w", ref.Kind, ref.Name, err)
	case live.UID != ref.UID:
		return ownerAbsent, nil
	}
	return stateOf(live.DeletionTimestamp != nil, live.Finalizers), nil
}

// ownersPresent reports whether the graph holds every owner of o, none of them waiting for its
// dependents to be deleted.
func (r *reconciler) ownersPresent(o object) bool {
	for _, ref := range o.owners {
		owner, ok := r.graph.get(objectKey{cluster: o.cluster, uid: ref.UID})
		if !ok || !refers(ref, owner, o.namespace) || owner.deletingDependents() {
			return false
		}
	}
	return true
}

func stateOf(beingDeleted bool, finalizers []string) ownerState {
	if beingDeleted && slices.Contains(finalizers, metav1.FinalizerDeleteDependents) {
		return ownerWaiting
	}
	return ownerPresent
}

// hasDependentDeletingDependents reports whether a dependent of o is itself deleted in the
// foreground. If o waits for it too, deleting o in the foreground would close a cycle.
func (r *reconciler) hasDependentDeletingDependents(o object) bool {
	return slices.ContainsFunc(r.graph.dependents(o.key()), object.deletingDependents)
}

// plan is what happens to a dependent.
type plan struct {
	// patch replaces the dependent's owner references with owners.
	patch  bool
	owners []metav1.OwnerReference
	// policy, when set, deletes the dependent with this propagation policy.
	policy metav1.DeletionPropagation
}

// planCollection decides what happens to a dependent from the states of its owners:
//   - with an owner present, it stays; references to absent owners are removed and references
//     to owners waiting for their dependents stop blocking them;
//   - else, with an owner waiting for its dependents, it is deleted in the foreground, and, if
//     one of its own dependents is deleted in the foreground (a cycle), first stops blocking;
//   - else, all owners are gone and it is deleted with the policy its finalizers ask for.
func planCollection(refs []metav1.OwnerReference, states map[types.UID]ownerState, finalizers []string, cycle bool) plan {
	var present, waiting bool
	for _, ref := range refs {
		switch states[ref.UID] {
		case ownerPresent, ownerUnresolvable:
			present = true
		case ownerWaiting:
			waiting = true
		}
	}
	switch {
	case present:
		owners := rewriteOwners(refs, states, true)
		return plan{patch: !apiequality.Semantic.DeepEqual(owners, refs), owners: owners}
	case waiting:
		p := plan{policy: metav1.DeletePropagationForeground}
		if cycle {
			p.owners = rewriteOwners(refs, states, false)
			p.patch = !apiequality.Semantic.DeepEqual(p.owners, refs)
		}
		return p
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		return plan{policy: metav1.DeletePropagationOrphan}
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		return plan{policy: metav1.DeletePropagationForeground}
	default:
		return plan{policy: metav1.DeletePropagationBackground}
	}
}

// rewriteOwners returns refs where references to waiting owners no longer block them and,
// with dropAbsent, references to absent owners are removed.
func rewriteOwners(refs []metav1.OwnerReference, states map[types.UID]ownerState, dropAbsent bool) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, 0, len(refs))
	for _, ref := range refs {
		switch states[ref.UID] {
		case ownerAbsent:
			if dropAbsent {
				continue
			}
		case ownerWaiting:
			if ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				unblocked := false
				ref.BlockOwnerDeletion = &unblocked
			}
		}
		out = append(out, ref)
	}
	return out
}

// removeFinalizer removes a finalizer from an owner, unless the owner is gone or already
// lost it.
func (r *reconciler) removeFinalizer(ctx context.Context, id identity, finalizer string) error {
	latest, err := r.latest(ctx, id)
	if latest == nil || !slices.Contains(latest.Finalizers, finalizer) {
		return err
	}
	finalizers := slices.DeleteFunc(slices.Clone(latest.Finalizers), func(f string) bool { return f == finalizer })
	if err := r.patchMetadata(ctx, id, latest, "finalizers", finalizers); err != nil {
		return fmt.Errorf("failed to remove finalizer %s: %w", finalizer, err)
	}
	klog.FromContext(ctx).V(2).Info("Removed finalizer", "finalizer", finalizer, "resource", id.resource.GVR, "namespace", id.namespace, "name", id.name)
	return nil
}

// latest reads an object live. It returns nil without error when the object is gone or was
// replaced by another with the same name.
func (r *reconciler) latest(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
	latest, err := r.getObject(ctx, id)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get %s %s: %w", id.resource.GVR.Resource, id.name, err)
	}
	if latest.UID != id.uid {
		return nil, nil
	}
	return latest, nil
}

// patchMetadata sets one metadata field of the object latest was read from. The patch carries
// the UID and resource version read, so it fails if the object changed in between.
func (r *reconciler) patchMetadata(ctx context.Context, id identity, latest *metav1.PartialObjectMetadata, field string, value any) error {
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":             latest.UID,
		"resourceVersion": latest.ResourceVersion,
		field:             value,
	}})
	if err != nil {
		return fmt.Errorf("failed to encode patch: %w", err)
	}
	if err := r.patch(ctx, id, data); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
