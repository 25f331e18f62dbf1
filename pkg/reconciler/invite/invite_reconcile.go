package invite

import (
	"context"
	"time"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// reconciler expires invites; its dependencies are fields so tests stub them.
type reconciler struct {
	get          func(key string) (*iamv1alpha1.Invite, bool)
	updateStatus func(ctx context.Context, id cluster.ID, inv *iamv1alpha1.Invite) error
	now          func() time.Time
}

// reconcile marks the invite of key Expired once its expiresAt has passed, and otherwise asks
// to look again then. Only pending invites change.
func (r *reconciler) reconcile(ctx context.Context, key string) (time.Duration, error) {
	inv, ok := r.get(key)
	if !ok {
		return 0, nil
	}
	if p := inv.Status.Phase; (p != "" && p != iamv1alpha1.InvitePending) || inv.Spec.ExpiresAt == nil {
		return 0, nil
	}
	if left := inv.Spec.ExpiresAt.Sub(r.now()); left > 0 {
		return left, nil
	}
	id, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return 0, nil
	}
	inv = inv.DeepCopy()
	inv.Status = iamv1alpha1.InviteStatus{Phase: iamv1alpha1.InviteExpired, Message: "the invite expired before its user signed in"}
	return 0, r.updateStatus(ctx, id, inv)
}
