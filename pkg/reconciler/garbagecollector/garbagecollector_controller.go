package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "garbagecollector"

// discoveryRetryPeriod is how often Start retries discovery while the server is not ready.
const discoveryRetryPeriod = time.Second

// Controller collects garbage in every account.
type Controller struct {
	factory          *client.Factory
	discoveryCluster string
	graph            *graph
	kinds            *kinds
	queue            *controller.Queue[objectKey]
	reconciler       *reconciler

	mu sync.Mutex
	// informers holds one informer per watched resource.
	informers map[schema.GroupVersionResource]cache.Controller
	// run starts an informer; it is nil until Start, which runs the informers added before.
	run func(cache.Controller)
}

// New returns a garbage collector that talks to the server through f. At Start, it watches the
// deletable resources that the discovery of discoveryCluster lists, in all accounts;
// AddResource adds more. The server passes the wildcard, whose discovery lists the built-in
// resources only: custom resources are defined per account, possibly with different schemas
// under one name, and are not collected yet.
func New(f *client.Factory, discoveryCluster string) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create garbage collector: no client factory")
	}
	if discoveryCluster == "" {
		return nil, errors.New("failed to create garbage collector: no account to discover resources in")
	}
	c := &Controller{
		factory:          f,
		discoveryCluster: discoveryCluster,
		graph:            newGraph(),
		kinds: &kinds{
			known: map[schema.GroupVersionKind]Resource{},
			discover: func(ctx context.Context, cluster, groupVersion string) (*metav1.APIResourceList, error) {
				return f.Kube(cluster).Discovery().ServerResourcesForGroupVersionWithContext(ctx, groupVersion)
			},
		},
		informers: map[schema.GroupVersionResource]cache.Controller{},
	}
	c.queue = controller.NewQueue(controller.Options[objectKey]{
		Name: controllerName,
		Reconcile: func(ctx context.Context, key objectKey) (time.Duration, error) {
			return 0, c.reconciler.reconcile(ctx, key)
		},
	})
	c.reconciler = &reconciler{
		graph: c.graph,
		getObject: func(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
			return f.Metadata(id.cluster).Resource(id.resource.GVR).Namespace(id.namespace).Get(ctx, id.name, metav1.GetOptions{})
		},
		getOwner: c.getOwner,
		patch: func(ctx context.Context, id identity, data []byte) error {
			_, err := f.Metadata(id.cluster).Resource(id.resource.GVR).Namespace(id.namespace).Patch(ctx, id.name, types.MergePatchType, data, metav1.PatchOptions{})
			return err
		},
		delete: func(ctx context.Context, id identity, policy metav1.DeletionPropagation) error {
			return f.Metadata(id.cluster).Resource(id.resource.GVR).Namespace(id.namespace).Delete(ctx, id.name, metav1.DeleteOptions{
				PropagationPolicy: &policy,
				Preconditions:     metav1.NewUIDPreconditions(string(id.uid)),
			})
		},
		enqueue: c.queue.Add,
	}
	return c, nil
}

// Start discovers the deletable resources, retrying until the server answers, runs an informer
// for each, waits for their caches to sync and starts workers, which run until ctx is done. It
// returns once the workers are started or ctx is done, and must be called once.
func (c *Controller) Start(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx).WithValues("controller", controllerName)
	informersCtx := klog.NewContext(ctx, logger)
	resources, err := c.discoverResources(informersCtx)
	if err != nil {
		return
	}
	for _, r := range resources {
		c.AddResource(r)
	}
	if !cache.WaitForNamedCacheSyncWithContext(informersCtx, c.startInformers(informersCtx)...) {
		return
	}
	logger.Info("Watching resources", "resources", len(resources))
	go c.queue.Run(ctx, workers)
}

// AddResource watches one more resource in all accounts. Watching a resource twice is a no-op.
func (c *Controller) AddResource(r Resource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.informers[r.GVR]; ok {
		return
	}
	c.kinds.add(r)
	informer := c.newInformer(r)
	c.informers[r.GVR] = informer
	if c.run != nil {
		c.run(informer)
	}
}

// discoverResources returns the deletable resources of the discovery account. It tolerates
// groups that fail discovery and retries until some resources are found or ctx is done.
func (c *Controller) discoverResources(ctx context.Context) ([]Resource, error) {
	var resources []Resource
	err := wait.PollUntilContextCancel(ctx, discoveryRetryPeriod, true, func(ctx context.Context) (bool, error) {
		lists, err := c.factory.Kube(c.discoveryCluster).Discovery().ServerPreferredResourcesWithContext(ctx)
		resources = deletableResources(lists)
		if err != nil && (!discovery.IsGroupDiscoveryFailedError(err) || len(resources) == 0) {
			klog.FromContext(ctx).Error(err, "Failed to discover resources, retrying")
			return false, nil
		}
		if err != nil {
			klog.FromContext(ctx).Error(err, "Some API groups could not be discovered; their resources are not collected")
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to discover resources: %w", err)
	}
	return resources, nil
}

// startInformers runs the informers added so far and makes AddResource run later ones at once.
// It returns the sync checks of the informers it started.
func (c *Controller) startInformers(ctx context.Context) []cache.InformerSynced {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run = func(informer cache.Controller) { go informer.RunWithContext(ctx) }
	synced := make([]cache.InformerSynced, 0, len(c.informers))
	for _, informer := range c.informers {
		c.run(informer)
		synced = append(synced, informer.HasSynced)
	}
	return synced
}

// getOwner reads the owner that ref names, in the dependent's account and, for a namespaced
// owner, in the dependent's namespace.
func (c *Controller) getOwner(ctx context.Context, cluster, namespace string, ref metav1.OwnerReference) (*metav1.PartialObjectMetadata, error) {
	r, err := c.kinds.resolve(ctx, cluster, ref.APIVersion, ref.Kind)
	if err != nil {
		return nil, err
	}
	ownerNamespace := ""
	if r.Namespaced {
		if namespace == "" {
			return nil, errNamespacedOwner
		}
		ownerNamespace = namespace
	}
	return c.factory.Metadata(cluster).Resource(r.GVR).Namespace(ownerNamespace).Get(ctx, ref.Name, metav1.GetOptions{})
}

// observe feeds an added or updated object into the graph and queues the objects it affects.
func (c *Controller) observe(r Resource, obj any) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	c.enqueue(c.graph.observe(object{
		identity:     identity{cluster: m.Annotations[corev1alpha1.ClusterAnnotation], resource: r, namespace: m.Namespace, name: m.Name, uid: m.UID},
		owners:       m.OwnerReferences,
		finalizers:   m.Finalizers,
		beingDeleted: m.DeletionTimestamp != nil,
	}))
}

// forget removes a deleted object from the graph and queues the objects it affects.
func (c *Controller) forget(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		c.enqueue(c.graph.forget(objectKey{cluster: m.Annotations[corev1alpha1.ClusterAnnotation], uid: m.UID}))
	}
}

func (c *Controller) enqueue(keys []objectKey) {
	for _, key := range keys {
		c.queue.Add(key)
	}
}

// newInformer returns an informer of the metadata of one resource in all accounts. The
// informer's store is keyed by account (client.NewInformer); the graph is the collector's
// index.
func (c *Controller) newInformer(r Resource) cache.Controller {
	lw := trimmedListWatch(c.factory.Metadata(string(cluster.Wildcard)).Resource(r.GVR))
	_, informer := client.NewInformer(lw, &metav1.PartialObjectMetadata{}, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(r, obj) },
		UpdateFunc: func(_, obj any) { c.observe(r, obj) },
		DeleteFunc: c.forget,
	}, nil)
	return informer
}

// trimmedListWatch lists and watches the metadata of a resource, dropping what the collector
// never reads (managed fields, labels, annotations but the cluster one) before the informer
// caches it: the cache holds every object of every account.
func trimmedListWatch(res metadata.ResourceInterface) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list, err := res.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				trim(&list.Items[i].ObjectMeta)
			}
			return list, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w, err := res.Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				// Bookmarks keep their annotations: they mark the end of initial events.
				if m, ok := e.Object.(*metav1.PartialObjectMetadata); ok && e.Type != watch.Bookmark {
					trim(&m.ObjectMeta)
				}
				return e, true
			}), nil
		},
	}
}

func trim(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	m.Labels = nil
	m.Annotations = map[string]string{corev1alpha1.ClusterAnnotation: m.Annotations[corev1alpha1.ClusterAnnotation]}
}
