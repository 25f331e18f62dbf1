package initializer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Phase says whether a controller is an initializer or a terminator.
type Phase string

const (
	// Initialize runs on accounts being initialized, from status.initializers.
	Initialize Phase = "initializers"
	// Terminate runs on accounts being deleted, from status.terminators.
	Terminate Phase = "terminators"
)

// Func does the work of an initializer or terminator in an account. It must be idempotent: it
// runs again if removing the name fails.
type Func func(ctx context.Context, acc *corev1alpha1.Account) error

// Named is an initializer or terminator: its name and its work.
type Named struct {
	Name string
	Work Func
}

// Controller runs a set of initializers or terminators: for each account it does the work of
// those of its names the account still lists, in order, and removes them in one update.
type Controller struct {
	name    string
	names   []Named
	phase   Phase
	clients *client.Factory
	store   cache.Indexer
	synced  cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
}

// New returns the controller, called name, of the initializers or terminators names over
// accounts, a shared informer of Account objects in all accounts.
func New(clients *client.Factory, accounts *client.SharedInformer, name string, phase Phase, names ...Named) *Controller {
	c := &Controller{
		name: name, phase: phase, names: names, clients: clients,
		store: accounts.Store(), synced: accounts.HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
	}
	enqueue := func(obj interface{}) {
		if acc, ok := c.pending(obj); ok {
			key, err := client.ClusterKey(acc)
			if err != nil {
				utilruntime.HandleError(err)
				return
			}
			c.queue.Add(key)
		}
	}
	accounts.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	})
	return c
}

// pending decodes obj and reports whether it waits for this controller.
func (c *Controller) pending(obj interface{}) (*corev1alpha1.Account, bool) {
	acc, ok := obj.(*corev1alpha1.Account)
	if !ok {
		return nil, false
	}
	if (acc.DeletionTimestamp != nil) != (c.phase == Terminate) {
		return acc, false
	}
	return acc, len(c.ours(acc)) > 0
}

// ours returns the initializers or terminators of this controller that acc still lists.
func (c *Controller) ours(acc *corev1alpha1.Account) []Named {
	var out []Named
	for _, n := range c.names {
		if slices.Contains(c.list(acc), n.Name) {
			out = append(out, n)
		}
	}
	return out
}

func (c *Controller) list(acc *corev1alpha1.Account) []string {
	if c.phase == Initialize {
		return acc.Status.Initializers
	}
	return acc.Status.Terminators
}

// Start starts the workers once the shared informer has synced.
func (c *Controller) Start(ctx context.Context, workers int) {
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, func(ctx context.Context) {
			for c.processNext(ctx) {
			}
		}, time.Second)
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	logger := klog.FromContext(ctx).WithValues("controller", c.name, "key", key)
	if err := c.process(klog.NewContext(ctx, logger), key); err != nil {
		logger.V(2).Info("Initializer failed, requeuing", "err", err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *Controller) process(ctx context.Context, key string) error {
	obj, exists, err := c.store.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	acc, ok := c.pending(obj)
	if !ok {
		return nil
	}
	acc = acc.DeepCopy()
	var done []string
	for _, n := range c.ours(acc) {
		if err := n.Work(ctx, acc); err != nil {
			return fmt.Errorf("%s failed: %w", n.Name, err)
		}
		done = append(done, n.Name)
	}
	parent, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return err
	}
	return RemoveNames(ctx, c.clients, parent, acc, c.phase, done...)
}

// RemoveNames removes names from the initializers or terminators of acc, an Account in account
// parent. The patch fails if the list changed since acc was read, so no update is lost.
func RemoveNames(ctx context.Context, clients *client.Factory, parent cluster.ID, acc *corev1alpha1.Account, phase Phase, names ...string) error {
	list := acc.Status.Initializers
	if phase == Terminate {
		list = acc.Status.Terminators
	}
	remaining := slices.DeleteFunc(slices.Clone(list), func(n string) bool { return slices.Contains(names, n) })
	path := "/status/" + string(phase)
	patch, err := json.Marshal([]map[string]interface{}{
		{"op": "test", "path": path, "value": list},
		{"op": "replace", "path": path, "value": remaining},
	})
	if err != nil {
		return err
	}
	_, err = clients.Dynamic(string(parent)).Resource(corev1alpha1.SchemeGroupVersion.WithResource("accounts")).
		Patch(ctx, acc.Name, types.JSONPatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("failed to remove %v from the %s of account %s: %w", names, phase, acc.Status.Path, err)
	}
	return nil
}
