package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
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
	queue        *controller.Queue[string]
	// childCheckDelay is how long to wait before looking again at an account whose children
	// are being deleted; normally the deletion of its last child wakes it up before.
	childCheckDelay time.Duration
}

// New returns the account controller over accounts, a shared informer of Account objects in all
// accounts. baseURL is the server's external URL; initializers are those it runs itself.
func New(clients *client.Factory, index Index, baseURL string, accounts *client.SharedInformer, initializers ...Initializer) *Controller {
	c := &Controller{
		initializers:    initializers,
		clients:         clients,
		index:           index,
		baseURL:         baseURL,
		childCheckDelay: 10 * time.Second,
	}
	c.queue = controller.NewQueue(controller.Options[string]{
		Name:        ControllerName,
		Reconcile:   c.process,
		RateLimiter: controller.ExponentialBackoff[string](10*time.Millisecond, 5*time.Second),
	})
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
// The workers run until ctx is done.
func (c *Controller) Start(ctx context.Context, workers int) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return fmt.Errorf("%s controller: caches did not sync", ControllerName)
	}
	go c.queue.Run(ctx, workers)
	return nil
}

// process reconciles the Account of key. Its errors are expected while accounts converge
// (writes race with initializers patching the status): they are retried quietly.
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
	requeueAfter, err := r.reconcile(ctx, acc)
	return requeueAfter, controller.Expected(err)
}
