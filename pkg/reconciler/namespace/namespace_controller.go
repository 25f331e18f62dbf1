package namespace

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const controllerName = "namespace"

// Retries of a namespace back off exponentially between these bounds, so a namespace whose
// content has finalizers is rechecked at most every maxRetryDelay.
const (
	minRetryDelay = 10 * time.Millisecond
	maxRetryDelay = 30 * time.Second
)

// Controller finalizes deleted namespaces in every account.
type Controller struct {
	informer   cache.Controller
	queue      workqueue.TypedRateLimitingInterface[namespaceKey]
	reconciler *reconciler
}

// New returns a namespace controller that talks to the server through f. Start runs it.
func New(f *client.Factory) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create namespace controller: no client factory")
	}
	c := &Controller{
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[namespaceKey](minRetryDelay, maxRetryDelay),
			workqueue.TypedRateLimitingQueueConfig[namespaceKey]{Name: controllerName},
		),
		reconciler: newReconciler(f),
	}
	c.informer = newNamespaceInformer(f, c.enqueue)
	return c, nil
}

// newReconciler returns a reconciler that works through f in the account of each namespace.
func newReconciler(f *client.Factory) *reconciler {
	return &reconciler{
		getNamespace: func(ctx context.Context, cluster, name string) (*corev1.Namespace, error) {
			return f.CoreV1(cluster).Namespaces().Get(ctx, name, metav1.GetOptions{})
		},
		updateStatus: func(ctx context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error) {
			return f.CoreV1(cluster).Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{})
		},
		update: func(ctx context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error) {
			return f.CoreV1(cluster).Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
		},
		discover: func(ctx context.Context, cluster string) ([]*metav1.APIResourceList, error) {
			lists, err := f.Kube(cluster).Discovery().ServerPreferredNamespacedResourcesWithContext(ctx)
			if err != nil {
				return lists, fmt.Errorf("failed to discover namespaced resources: %w", err)
			}
			return lists, nil
		},
		deleteCollection: func(ctx context.Context, cluster, namespace string, gvr schema.GroupVersionResource) error {
			background := metav1.DeletePropagationBackground
			return f.Metadata(cluster).Resource(gvr).Namespace(namespace).DeleteCollection(ctx,
				metav1.DeleteOptions{PropagationPolicy: &background}, metav1.ListOptions{})
		},
		listOne: func(ctx context.Context, cluster, namespace string, gvr schema.GroupVersionResource) (*metav1.PartialObjectMetadataList, error) {
			return f.Metadata(cluster).Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 1})
		},
	}
}

// Start runs the informer, waits for its cache to sync and starts workers, which run until ctx
// is done. It returns once the workers are started or ctx is done, and must be called once.
func (c *Controller) Start(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx).WithValues("controller", controllerName)
	ctx = klog.NewContext(ctx, logger)
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.informer.HasSynced) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, c.runWorker, time.Second)
	}
	logger.Info("Started workers", "workers", workers)
}

// enqueue queues a namespace when it waits for this controller.
func (c *Controller) enqueue(m *metav1.PartialObjectMetadata) {
	if terminating(m) {
		c.queue.Add(namespaceKey{cluster: m.Annotations[corev1alpha1.ClusterAnnotation], name: m.Name})
	}
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

// processNext reconciles one queued namespace; it returns false once the queue is shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)

	logger := klog.FromContext(ctx).WithValues("cluster", key.cluster, "namespace", key.name)
	err := c.reconciler.reconcile(klog.NewContext(ctx, logger), key)
	switch {
	case err == nil:
		c.queue.Forget(key)
	case errors.Is(err, errContentRemaining):
		logger.V(2).Info("Waiting for namespace content to be removed", "reason", err.Error())
		c.queue.AddRateLimited(key)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Failed to finalize namespace", "cluster", key.cluster, "namespace", key.name)
		c.queue.AddRateLimited(key)
	}
	return true
}

// newNamespaceInformer watches the metadata of the namespaces of all accounts and calls
// onChange for every added or updated one. Its store is keyed by account (client.NewInformer),
// so namespaces with the same name in different accounts stay apart.
func newNamespaceInformer(f *client.Factory, onChange func(*metav1.PartialObjectMetadata)) cache.Controller {
	res := f.Metadata(string(cluster.Wildcard)).Resource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, opts)
		},
	}
	notify := func(obj any) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			onChange(m)
		}
	}
	_, informer := client.NewInformer(lw, &metav1.PartialObjectMetadata{}, cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
	}, nil)
	return informer
}
