package pernamespace

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// Retries back off between these bounds, e.g. while an admission policy of the account refuses
// a kept object: soon at first, rarely after.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = 5 * time.Minute
)

// Ensure brings what a controller keeps in namespace of account id in line. The namespace
// existed and was not being deleted when the call began.
type Ensure func(ctx context.Context, id cluster.ID, namespace string) error

// Options configure a Controller.
type Options struct {
	// Name names the controller in logs and metrics; a constant.
	Name string
	// Namespaces is the shared informer over the metadata of the namespaces of all accounts.
	// New registers a handler; the caller runs it.
	Namespaces *client.SharedInformer
	// Objects is the informer over the kept objects of all accounts, keyed by
	// client.ClusterKey. New registers a handler; Start runs it.
	Objects *client.SharedInformer
	// Ensure is called for each queued namespace that exists and is not being deleted.
	Ensure Ensure
}

// Controller queues namespaces and calls Ensure for them.
type Controller struct {
	namespaces, objects *client.SharedInformer
	queue               *controller.Queue[string]
	ensure              Ensure
}

// New returns the controller; Start runs it.
func New(o Options) *Controller {
	c := &Controller{namespaces: o.Namespaces, objects: o.Objects, ensure: o.Ensure}
	c.queue = controller.NewQueue(controller.Options[string]{
		Name:        o.Name,
		Reconcile:   func(ctx context.Context, key string) (time.Duration, error) { return 0, c.reconcile(ctx, key) },
		RateLimiter: controller.ExponentialBackoff[string](minRetryDelay, maxRetryDelay),
	})
	o.Namespaces.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueNamespace,
		UpdateFunc: func(_, obj any) { c.enqueueNamespace(obj) },
	})
	o.Objects.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueNamespaceOf,
		UpdateFunc: func(_, obj any) { c.enqueueNamespaceOf(obj) },
		DeleteFunc: c.enqueueNamespaceOf,
	})
	return c
}

// Start runs the informer of the kept objects, waits for both informers to sync and starts
// workers, which run until ctx is done. It returns once the workers are started or ctx is done,
// and must be called once.
func (c *Controller) Start(ctx context.Context, workers int) {
	go c.objects.Run(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.namespaces.HasSynced, c.objects.HasSynced) {
		return
	}
	go c.queue.Run(ctx, workers)
}

// reconcile calls Ensure for the namespace of key, <cluster>|<name>, unless the namespace is
// gone or being deleted.
func (c *Controller) reconcile(ctx context.Context, key string) error {
	return c.reconcileIn(ctx, c.namespaces.Store(), key)
}

// reconcileIn is reconcile with the namespaces read from the cache namespaces.
func (c *Controller) reconcileIn(ctx context.Context, namespaces cache.Store, key string) error {
	id, _, namespace, err := client.SplitClusterKey(key)
	if err != nil {
		return fmt.Errorf("failed to parse key: %w", err)
	}
	ns, ok := client.Get[metav1.Object](namespaces, id, "", namespace)
	if !ok || ns.GetDeletionTimestamp() != nil {
		return nil
	}
	return c.ensure(ctx, id, namespace)
}

// enqueueNamespace queues a namespace by its own key.
func (c *Controller) enqueueNamespace(obj any) {
	if key, err := client.ClusterKey(obj); err == nil {
		c.queue.Add(key)
	}
}

// enqueueNamespaceOf queues the namespace of a kept object, or of its tombstone.
func (c *Controller) enqueueNamespaceOf(obj any) {
	if key, ok := client.NamespaceKey(obj); ok {
		c.queue.Add(key)
	}
}
