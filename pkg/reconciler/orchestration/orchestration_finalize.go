package orchestration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// deletionRecheck is when a context being deleted is looked at again without events, in case
// a member's deletion was missed.
const deletionRecheck = 30 * time.Second

// finalize handles a deleted context that still has the finalizer: with the Delete policy, it
// deletes the members (a selector's: the objects it matches now), each only once the members
// that depend on it are gone (all of a selector's matches), and reports
// progress in the Deleting condition; with Orphan, it withdraws its dependency gates from the
// members. Either way, a member the requester may no longer delete (or patch) is left as it is.
// Once done, it removes the finalizer.
func (r *reconciler) finalize(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext,
	members []member, requester authenticationv1.UserInfo, hasRequester bool) (time.Duration, error) {
	if oc.Spec.DeletionPolicy != orchestrationv1alpha1.DeletionPolicyDelete {
		if err := r.withdrawGates(ctx, members, requester, hasRequester); err != nil {
			return 0, err
		}
		return 0, r.release(ctx, id, oc)
	}
	var present []*member
	remaining := map[string]bool{}
	for i := range members {
		m := &members[i]
		ok, err := r.deletable(ctx, m, requester, hasRequester)
		if err != nil {
			return 0, err
		}
		if ok {
			present = append(present, m)
			remaining[m.owner] = true
		}
	}
	var deleting, waiting []string
	for _, m := range present {
		var blockers []string
		for _, other := range oc.Spec.Members {
			if slices.Contains(other.DependsOn, m.owner) && remaining[other.Name] {
				blockers = append(blockers, other.Name)
			}
		}
		if len(blockers) > 0 {
			waiting = append(waiting, fmt.Sprintf("%s (for %s)", m.spec.Name, strings.Join(blockers, ", ")))
			continue
		}
		deleting = append(deleting, m.spec.Name)
		if err := r.deleteMember(ctx, m.id, m.res.gvr, m.namespace(), m.spec.Ref.Name); err != nil && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("failed to delete member %q: %w", m.spec.Name, err)
		}
	}
	if len(present) == 0 {
		return 0, r.release(ctx, id, oc)
	}
	message := "deleting: " + strings.Join(deleting, ", ")
	if len(waiting) > 0 {
		message += "; waiting for their dependents: " + strings.Join(waiting, ", ")
	}
	status := oc.Status.DeepCopy()
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: orchestrationv1alpha1.ConditionDeleting, Status: metav1.ConditionTrue,
		Reason: orchestrationv1alpha1.ReasonDeletingMembers, Message: message, ObservedGeneration: oc.Generation, LastTransitionTime: metav1.NewTime(r.now())})
	if !equalConditions(status.Conditions, oc.Status.Conditions) {
		oc.Status = *status
		if err := r.updateStatus(ctx, id, oc); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return 0, fmt.Errorf("failed to report the deletion of orchestration context %s/%s: %w", oc.Namespace, oc.Name, err)
		}
	}
	return deletionRecheck, nil
}

// deletable reports whether a member of a deleted context is still there to delete: it exists
// and the requester may still delete it. A member in an account or of a kind that is gone, or
// that the requester may no longer delete, is left alone and counts as gone.
func (r *reconciler) deletable(ctx context.Context, m *member, requester authenticationv1.UserInfo, hasRequester bool) (bool, error) {
	if !hasRequester || !m.found || !m.served {
		return false, nil
	}
	allowed, err := r.may(ctx, m, requester, "get", "delete")
	if err != nil || !allowed {
		if err == nil {
			klog.FromContext(ctx).V(2).Info("Leaving a member the requester may not delete", "member", m.spec.Name)
		}
		return false, err
	}
	_, err = r.getMember(ctx, m.id, m.res.gvr, m.namespace(), m.spec.Ref.Name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to get member %q: %w", m.spec.Name, err)
	}
	return true, nil
}

// withdrawGates removes the dependency gates of an orphaning context from its members, where
// the requester may still patch them, so that their controllers no longer wait for it.
func (r *reconciler) withdrawGates(ctx context.Context, members []member, requester authenticationv1.UserInfo, hasRequester bool) error {
	for i := range members {
		m := &members[i]
		if !hasRequester || !m.found || !m.served || len(m.spec.DependsOn) == 0 {
			continue
		}
		obj, err := r.getMember(ctx, m.id, m.res.gvr, m.namespace(), m.spec.Ref.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("failed to get member %q: %w", m.spec.Name, err)
		}
		if _, ok := obj.GetAnnotations()[orchestrationv1alpha1.DependenciesReadyAnnotation]; !ok {
			continue
		}
		if err := r.setGate(ctx, m, requester, ""); err != nil {
			return err
		}
	}
	return nil
}

// release removes the finalizer from a deleted context.
func (r *reconciler) release(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error {
	oc.Finalizers = slices.DeleteFunc(oc.Finalizers, func(f string) bool { return f == orchestrationv1alpha1.Finalizer })
	if err := r.update(ctx, id, oc); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("failed to remove the finalizer of orchestration context %s/%s: %w", oc.Namespace, oc.Name, err)
	}
	return nil
}

// equalConditions compares conditions without their transition times.
func equalConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.LastTransitionTime, y.LastTransitionTime = metav1.Time{}, metav1.Time{}
		if x != y {
			return false
		}
	}
	return true
}
