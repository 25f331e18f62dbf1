package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/quota"
)

// errNotServed is returned for a group the account does not serve: its count is zero.
var errNotServed = errors.New("group not served")

// reconciler counts one quota; its dependencies are functions so that tests stub them.
type reconciler struct {
	get              func(key string) (*corev1.ResourceQuota, bool)
	preferredVersion func(ctx context.Context, id cluster.ID, group string) (string, error)
	count            func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace string) (int64, error)
	updateStatus     func(ctx context.Context, id cluster.ID, q *corev1.ResourceQuota) error
}

// reconcile counts what the quota limits, writes its status when it changed, and asks to be
// run again after the resync period.
func (r *reconciler) reconcile(ctx context.Context, key string) (time.Duration, error) {
	id, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return 0, nil
	}
	q, ok := r.get(key)
	if !ok {
		return 0, nil
	}
	status := corev1.ResourceQuotaStatus{Hard: q.Spec.Hard.DeepCopy(), Used: corev1.ResourceList{}}
	versions := map[string]string{"": "v1"}
	for name := range q.Spec.Hard {
		res, group, ok := quota.ObjectCount(name)
		if !ok {
			continue
		}
		version, known := versions[group]
		if !known {
			version, err = r.preferredVersion(ctx, id, group)
			if err != nil && !errors.Is(err, errNotServed) {
				return 0, fmt.Errorf("failed to discover group %q: %w", group, err)
			}
			versions[group] = version
		}
		n := int64(0)
		if version != "" {
			n, err = r.count(ctx, id, schema.GroupVersionResource{Group: group, Version: version, Resource: res}, q.Namespace)
			if err != nil && !apierrors.IsNotFound(err) {
				return 0, fmt.Errorf("failed to count %s: %w", name, err)
			}
		}
		status.Used[name] = *resource.NewQuantity(n, resource.DecimalSI)
	}
	if !apiequality.Semantic.DeepEqual(status, q.Status) {
		q = q.DeepCopy()
		q.Status = status
		if err := r.updateStatus(ctx, id, q); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return 0, fmt.Errorf("failed to update the status of quota %s/%s: %w", q.Namespace, q.Name, err)
		}
		klog.FromContext(ctx).V(4).Info("Counted quota", "cluster", id, "namespace", q.Namespace, "name", q.Name)
	}
	return resync, nil
}
