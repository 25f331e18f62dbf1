package serviceaccount

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

type reconciler struct {
	// namespace returns a cached namespace by its cluster key.
	namespace func(key string) (metav1.Object, bool)
	// hasDefault reports whether the cache holds the namespace's default ServiceAccount.
	hasDefault func(id cluster.ID, namespace string) bool
	create     func(ctx context.Context, id cluster.ID, namespace string) error
}

// reconcile creates the default ServiceAccount of an active namespace that lacks one.
func (r *reconciler) reconcile(ctx context.Context, key string) error {
	id, _, name, err := client.SplitClusterKey(key)
	if err != nil {
		return err
	}
	ns, ok := r.namespace(key)
	if !ok || ns.GetDeletionTimestamp() != nil || r.hasDefault(id, name) {
		return nil
	}
	err = r.create(ctx, id, name)
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
		// The namespace or its account is going away.
		return nil
	default:
		return fmt.Errorf("failed to create the default service account of namespace %s: %w", name, err)
	}
}
