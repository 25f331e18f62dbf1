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
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
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
	queue      *controller.Queue[namespaceKey]
	reconciler *reconciler
}

// New returns a namespace controller that talks to the server through f. Start runs it.
func New(f *client.Factory) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create namespace controller: no client factory")
	}
	c := &Controller{reconciler: newReconciler(f)}
	c.queue = controller.NewQueue(controller.Options[namespaceKey]{
		Name: controllerName,
		Reconcile: func(ctx context.Context, key namespaceKey) (time.Duration, error) {
			return 0, c.reconciler.reconcile(ctx, key)
		},
		RateLimiter: controller.ExponentialBackoff[namespaceKey](minRetryDelay, maxRetryDelay),
	})
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
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.informer.HasSynced) {
		return
	}
	go c.queue.Run(ctx, workers)
}

// enqueue queues a namespace when it waits for this controller.
func (c *Controller) enqueue(m *metav1.PartialObjectMetadata) {
	if terminating(m) {
		c.queue.Add(namespaceKey{cluster: m.Annotations[corev1alpha1.ClusterAnnotation], name: m.Name})
	}
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
