package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// ControllerName names the controller in logs.
const ControllerName = "account"

// Index is what the controller needs of the account index.
type Index interface {
	Resolve(pathOrID string) (cluster.ID, bool)
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Controller reconciles Account objects across all accounts.
type Controller struct {
	initializers []Initializer
	clients      *client.Factory
	index        Index
	baseURL      string
	store        cache.Indexer
	synced       cache.InformerSynced
	queue        workqueue.TypedRateLimitingInterface[string]
	// childCheckDelay is how long to wait before looking again at an account whose children
	// are being deleted; normally the deletion of its last child wakes it up before.
	childCheckDelay time.Duration
}

// New returns the account controller over accounts, a shared informer of Account objects in all
// accounts. baseURL is the server's external URL; initializers are those it runs itself.
func New(clients *client.Factory, index Index, baseURL string, accounts *client.SharedInformer, initializers ...Initializer) *Controller {
	c := &Controller{
		initializers: initializers,
		clients:      clients,
		index:        index,
		baseURL:      baseURL,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: ControllerName}),
		childCheckDelay: 10 * time.Second,
	}
	c.store, c.synced = accounts.Store(), accounts.HasSynced
	accounts.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj) },
		DeleteFunc: c.enqueueParentAccount,
	})
	return c
}

func (c *Controller) enqueue(obj interface{}) {
	key, err := client.ClusterKey(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// enqueueParentAccount wakes up the Account whose account held a deleted Account, so that a
// terminating parent notices its last child is gone.
func (c *Controller) enqueueParentAccount(obj interface{}) {
	key, err := client.ClusterKey(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	id, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return
	}
	e, ok := c.index.Lookup(id)
	if !ok || e.Parent == "" {
		return
	}
	c.queue.Add(client.ToClusterKey(e.Parent, "", e.Path[strings.LastIndex(e.Path, cluster.PathSeparator)+1:]))
}

// Start starts the workers once the shared informer has synced; the caller runs the informer.
func (c *Controller) Start(ctx context.Context, workers int) error {
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return fmt.Errorf("%s controller: caches did not sync", ControllerName)
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.runWorker, time.Second)
	}
	return nil
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName, "key", key)
	ctx = klog.NewContext(ctx, logger)

	requeueAfter, err := c.process(ctx, key)
	switch {
	case err != nil:
		logger.V(2).Info("Reconcile failed, requeuing", "err", err)
		c.queue.AddRateLimited(key)
	case requeueAfter > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, requeueAfter)
	default:
		c.queue.Forget(key)
	}
	return true
}

func (c *Controller) process(ctx context.Context, key string) (time.Duration, error) {
	obj, exists, err := c.store.GetByKey(key)
	if err != nil || !exists {
		return 0, err
	}
	cached, ok := obj.(*corev1alpha1.Account)
	if !ok {
		return 0, fmt.Errorf("unexpected object %T in the account cache", obj)
	}
	acc := cached.DeepCopy()
	parent, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return 0, err
	}
	r := &reconciler{
		initializers:    c.initializers,
		parent:          parent,
		accounts:        accountClient{clients: c.clients},
		content:         contentClient{clients: c.clients},
		index:           c.index,
		childCheckDelay: c.childCheckDelay,
		baseURL:         c.baseURL,
	}
	return r.reconcile(ctx, acc)
}
