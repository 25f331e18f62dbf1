// Package serviceaccount runs the controller that gives every active namespace of every
// account a "default" ServiceAccount, as upstream's, and recreates it when it is deleted.
//
// It must not touch other ServiceAccounts or anything else in a namespace.
package serviceaccount

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const controllerName = "serviceaccount"

// DefaultName is the ServiceAccount every namespace gets.
const DefaultName = "default"

// Controller ensures the default ServiceAccount of every namespace.
type Controller struct {
	namespaces, serviceAccounts               cache.Indexer
	namespaceInformer, serviceAccountInformer cache.Controller
	queue                                     workqueue.TypedRateLimitingInterface[string]
	reconciler                                *reconciler
}

// New returns the controller; Start runs it.
func New(f *client.Factory) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create the serviceaccount controller: no client factory")
	}
	c := &Controller{queue: workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: controllerName},
	)}
	wildcard := f.Metadata(string(cluster.Wildcard))
	enqueueNamespace := func(obj any) {
		if key, err := client.ClusterKey(obj); err == nil {
			c.queue.Add(key)
		}
	}
	c.namespaces, c.namespaceInformer = client.NewInformer(
		metadataListWatch(wildcard, corev1.SchemeGroupVersion.WithResource("namespaces"), fields.Everything()),
		&metav1.PartialObjectMetadata{}, cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueueNamespace,
			UpdateFunc: func(_, obj any) { enqueueNamespace(obj) },
		}, nil)
	// Only default ServiceAccounts are cached; deleting one queues its namespace.
	c.serviceAccounts, c.serviceAccountInformer = client.NewInformer(
		metadataListWatch(wildcard, corev1.SchemeGroupVersion.WithResource("serviceaccounts"), fields.OneTermEqualSelector("metadata.name", DefaultName)),
		&metav1.PartialObjectMetadata{}, cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				key, err := client.ClusterKey(obj)
				if err != nil {
					return
				}
				if id, namespace, _, err := client.SplitClusterKey(key); err == nil {
					c.queue.Add(client.ToClusterKey(id, "", namespace))
				}
			},
		}, nil)
	c.reconciler = &reconciler{
		namespace: func(key string) (metav1.Object, bool) {
			obj, ok, err := c.namespaces.GetByKey(key)
			if err != nil || !ok {
				return nil, false
			}
			return obj.(*metav1.PartialObjectMetadata), true
		},
		hasDefault: func(id cluster.ID, namespace string) bool {
			_, ok, err := c.serviceAccounts.GetByKey(client.ToClusterKey(id, namespace, DefaultName))
			return err == nil && ok
		},
		create: func(ctx context.Context, id cluster.ID, namespace string) error {
			_, err := f.CoreV1(string(id)).ServiceAccounts(namespace).Create(ctx,
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName}}, metav1.CreateOptions{})
			return err
		},
	}
	return c, nil
}

// metadataListWatch lists and watches the metadata of a resource across all accounts.
func metadataListWatch(wildcard metadata.Interface, gvr schema.GroupVersionResource, selector fields.Selector) cache.ListerWatcher {
	res := wildcard.Resource(gvr)
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = selector.String()
			return res.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector.String()
			return res.Watch(ctx, opts)
		},
	}
}

// Start runs the informers, waits for both caches and starts workers, which run until ctx is
// done.
func (c *Controller) Start(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx).WithValues("controller", controllerName)
	ctx = klog.NewContext(ctx, logger)
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	go c.namespaceInformer.RunWithContext(ctx)
	go c.serviceAccountInformer.RunWithContext(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.namespaceInformer.HasSynced, c.serviceAccountInformer.HasSynced) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.runWorker, time.Second)
	}
	logger.Info("Started workers", "workers", workers)
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	if err := c.reconciler.reconcile(ctx, key); err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Failed to create the default service account", "key", key)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}
