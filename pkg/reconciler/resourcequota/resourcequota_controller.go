// Package resourcequota runs the controller that counts, for every ResourceQuota of every
// account, the objects it limits in its namespace, and writes status.hard and status.used, as
// upstream's quota controller does for object counts. It counts again every resync period, so
// deletions are seen within it (pkg/admission/resourcequota adds creations as they happen).
//
// It must not change a quota's spec; it reads only the quota's own account and namespace.
package resourcequota

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "resourcequota"

// resync is how often every quota is counted again.
const resync = 10 * time.Second

// Controller keeps the status of every account's ResourceQuotas.
type Controller struct {
	quotas *client.SharedInformer
	queue  *controller.Queue[string]
}

// New returns the controller. quotas is the shared informer over every account's
// ResourceQuotas; New registers its handler, the caller runs it. Start runs the controller.
func New(f *client.Factory, quotas *client.SharedInformer) (*Controller, error) {
	if f == nil || quotas == nil {
		return nil, errors.New("failed to create the resourcequota controller: no client factory or quota informer")
	}
	r := &reconciler{
		get: func(key string) (*corev1.ResourceQuota, bool) {
			obj, ok, err := quotas.Store().GetByKey(key)
			if err != nil || !ok {
				return nil, false
			}
			q, ok := obj.(*corev1.ResourceQuota)
			return q, ok
		},
		preferredVersion: func(ctx context.Context, id cluster.ID, group string) (string, error) {
			groups, err := f.Discovery(string(id)).ServerGroups()
			if err != nil {
				return "", err
			}
			for _, g := range groups.Groups {
				if g.Name == group {
					return g.PreferredVersion.Version, nil
				}
			}
			return "", errNotServed
		},
		count: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace string) (int64, error) {
			list, err := f.Metadata(string(id)).Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			return int64(len(list.Items)), nil
		},
		updateStatus: func(ctx context.Context, id cluster.ID, q *corev1.ResourceQuota) error {
			_, err := f.CoreV1(string(id)).ResourceQuotas(q.Namespace).UpdateStatus(ctx, q, metav1.UpdateOptions{})
			return err
		},
	}
	c := &Controller{quotas: quotas}
	c.queue = controller.NewQueue(controller.Options[string]{
		Name:      controllerName,
		Reconcile: r.reconcile,
	})
	quotas.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { controller.AddClusterKey(c.queue, obj) },
		UpdateFunc: func(old, obj any) {
			// Status writes, the admission plugin's included, need no recount.
			if o, n := old.(*corev1.ResourceQuota), obj.(*corev1.ResourceQuota); o.Generation != n.Generation || n.Status.Hard == nil {
				controller.AddClusterKey(c.queue, obj)
			}
		},
	})
	return c, nil
}

// Start waits for the informer's cache and starts workers, which run until ctx is done.
func (c *Controller) Start(ctx context.Context, workers int) {
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.quotas.HasSynced) {
		return
	}
	go c.queue.Run(ctx, workers)
}
