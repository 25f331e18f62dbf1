package serviceaccount

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// DefaultName is the name of the ServiceAccount every namespace gets.
const DefaultName = "default"

// reconciler creates missing "default" ServiceAccounts. Its function fields are the only way it
// reaches caches and the server.
type reconciler struct {
	// exists tells whether the cache holds the "default" ServiceAccount of a namespace.
	exists func(id cluster.ID, namespace string) bool
	// create creates a ServiceAccount in account id.
	create func(ctx context.Context, id cluster.ID, sa *corev1.ServiceAccount) error
}

// ensure makes sure that an active namespace has its "default" ServiceAccount.
func (r *reconciler) ensure(ctx context.Context, id cluster.ID, namespace string) error {
	if r.exists(id, namespace) {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: namespace}}
	err := r.create(ctx, id, sa)
	switch {
	case err == nil:
		klog.FromContext(ctx).V(2).Info("Created the default ServiceAccount")
		return nil
	case apierrors.IsAlreadyExists(err), apierrors.IsNotFound(err):
		// The cache is behind: it exists already, or its namespace is gone.
		return nil
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err):
		// The namespace or the account is being deleted, or an admission policy of the account
		// refuses it: retried with backoff until that passes or the namespace is gone.
		return controller.Expected(fmt.Errorf("failed to create the default ServiceAccount: %w", err))
	default:
		return fmt.Errorf("failed to create the default ServiceAccount: %w", err)
	}
}
