package admissionpolicy

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// reconciler type-checks one policy; its dependencies are functions so that tests stub them.
type reconciler struct {
	// get returns the cached policy of a key.
	get func(key string) (*admissionregistrationv1.ValidatingAdmissionPolicy, bool)
	// check type-checks a policy of account id.
	check func(id cluster.ID, p *admissionregistrationv1.ValidatingAdmissionPolicy) []admissionregistrationv1.ExpressionWarning
	// updateStatus writes a policy's status in account id.
	updateStatus func(ctx context.Context, id cluster.ID, p *admissionregistrationv1.ValidatingAdmissionPolicy) error
}

// reconcile checks a policy whose status does not describe its generation yet, and writes the
// result once.
func (r *reconciler) reconcile(ctx context.Context, key string) error {
	id, _, name, err := client.SplitClusterKey(key)
	if err != nil {
		return nil // not a key of ours: nothing to retry
	}
	p, ok := r.get(key)
	if !ok || p.Status.ObservedGeneration == p.Generation && p.Status.TypeChecking != nil {
		return nil
	}
	p = p.DeepCopy()
	p.Status.ObservedGeneration = p.Generation
	p.Status.TypeChecking = &admissionregistrationv1.TypeChecking{ExpressionWarnings: r.check(id, p)}
	if err := r.updateStatus(ctx, id, p); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			// Deleted, or changed since: the informer brings the newer object.
			return nil
		}
		return fmt.Errorf("failed to update the status of policy %q: %w", name, err)
	}
	klog.FromContext(ctx).V(4).Info("Type-checked admission policy", "cluster", id, "name", name,
		"warnings", len(p.Status.TypeChecking.ExpressionWarnings))
	return nil
}
