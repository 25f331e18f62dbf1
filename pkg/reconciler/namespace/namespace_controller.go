package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
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
	namespaces *client.SharedInformer
	queue      *controller.Queue[namespaceKey]
	reconciler *reconciler
}

// New returns a namespace controller that talks to the server through f. namespaces is the
// shared informer over the metadata of the namespaces of all accounts
// (PartialObjectMetadata, keyed by client.ClusterKey); New registers its handler, the caller
// runs it. Start runs the controller.
func New(f *client.Factory, namespaces *client.SharedInformer) (*Controller, error) {
	if f == nil || namespaces == nil {
		return nil, errors.New("failed to create namespace controller: no client factory or namespace informer")
	}
	c := &Controller{namespaces: namespaces, reconciler: newReconciler(f)}
	c.queue = controller.NewQueue(controller.Options[namespaceKey]{
		Name: controllerName,
		Reconcile: func(ctx context.Context, key namespaceKey) (time.Duration, error) {
			return 0, c.reconciler.reconcile(ctx, key)
		},
		RateLimiter: controller.ExponentialBackoff[namespaceKey](minRetryDelay, maxRetryDelay),
	})
	notify := func(obj any) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			c.enqueue(m)
		}
	}
	namespaces.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
	})
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
		finalize: func(ctx context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error) {
			return f.CoreV1(cluster).Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
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

// Start waits for the namespace informer to sync and starts workers, which run until ctx is
// done. It returns once the workers are started or ctx is done, and must be called once.
func (c *Controller) Start(ctx context.Context, workers int) {
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.namespaces.HasSynced) {
		return
	}
	go c.queue.Run(ctx, workers)
}

// enqueue queues a namespace once it is deleted, and one of an earlier version to migrate;
// reconcile tells whether a deleted one waits for this controller, which the metadata alone
// cannot (spec finalizers are not metadata).
func (c *Controller) enqueue(m *metav1.PartialObjectMetadata) {
	if m.DeletionTimestamp != nil || slices.Contains(m.Finalizers, legacyFinalizer) {
		c.queue.Add(namespaceKey{cluster: m.Annotations[corev1alpha1.ClusterAnnotation], name: m.Name})
	}
}
