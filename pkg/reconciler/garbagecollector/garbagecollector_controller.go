package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const (
	controllerName = "garbagecollector"
	// sourcesName names the queue of custom resource sources.
	sourcesName = "garbagecollector-sources"
)

// discoveryRetryPeriod is how often Start retries discovery while the server is not ready.
const discoveryRetryPeriod = time.Second

// sourceSyncGrace is how long a source that has not listed yet holds back the owners waiting
// for their dependents: a source that cannot list must not stop foreground and orphan
// deletions everywhere.
const sourceSyncGrace = 10 * time.Second

// unsyncedRetry is when an owner waiting for its dependents is looked at again while a source
// has not listed yet.
const unsyncedRetry = 200 * time.Millisecond

// Controller collects garbage in every account.
type Controller struct {
	factory          *client.Factory
	discoveryCluster string
	informers        Informers
	state            sourceState
	graph            *graph
	kinds            *kinds
	queue            *controller.Queue[objectKey]
	sourceQueue      *controller.Queue[sourceKey]
	reconciler       *reconciler

	mu sync.Mutex
	// builtins holds one informer per built-in resource.
	builtins map[schema.GroupVersionResource]cache.Controller
	// sources holds the running sources of custom resources.
	sources map[sourceKey]*source
	// ctx is the context informers run in; it is nil until Start, which runs the informers
	// added before.
	ctx context.Context
}

// source is a running watch of custom resources in all accounts.
type source struct {
	// version is the version the source lists and watches in.
	version  string
	informer cache.Controller
	store    cache.Store
	started  time.Time
	stop     context.CancelFunc
	// done is closed once the informer stopped.
	done chan struct{}
}

// New returns a garbage collector that talks to the server through f. At Start, it watches the
// deletable resources that the discovery of discoveryCluster lists, in all accounts, as
// resources every account serves; the server passes the wildcard, whose discovery lists the
// built-in resources. AddResource adds more. Custom resources are watched while informers show
// accounts defining them with CRDs or binding them from exports: one watch per group/resource
// for every account that defines it, whatever its schema, and one per group/resource and
// export for every account that binds it. New adds indexes to the informers' caches.
func New(f *client.Factory, discoveryCluster string, informers Informers) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create garbage collector: no client factory")
	}
	if discoveryCluster == "" {
		return nil, errors.New("failed to create garbage collector: no account to discover resources in")
	}
	if informers.CRDs == nil || informers.Bindings == nil || informers.Schemas == nil {
		return nil, errors.New("failed to create garbage collector: missing informers of custom resources")
	}
	if err := informers.CRDs.Store().AddIndexers(crdIndexers); err != nil {
		return nil, fmt.Errorf("failed to index CRDs: %w", err)
	}
	if err := informers.Bindings.Store().AddIndexers(bindingIndexers); err != nil {
		return nil, fmt.Errorf("failed to index APIBindings: %w", err)
	}
	c := &Controller{
		factory:          f,
		discoveryCluster: discoveryCluster,
		informers:        informers,
		state:            sourceState{crds: informers.CRDs.Store(), bindings: informers.Bindings.Store(), schemas: informers.Schemas.Store()},
		graph:            newGraph(),
		kinds: &kinds{
			known: map[schema.GroupVersionKind]Resource{},
			discover: func(ctx context.Context, cluster, groupVersion string) (*metav1.APIResourceList, error) {
				return f.Kube(cluster).Discovery().ServerResourcesForGroupVersionWithContext(ctx, groupVersion)
			},
		},
		builtins: map[schema.GroupVersionResource]cache.Controller{},
		sources:  map[sourceKey]*source{},
	}
	c.queue = controller.NewQueue(controller.Options[objectKey]{
		Name: controllerName,
		Reconcile: func(ctx context.Context, key objectKey) (time.Duration, error) {
			return c.reconciler.reconcile(ctx, key)
		},
	})
	c.sourceQueue = controller.NewQueue(controller.Options[sourceKey]{
		Name: sourcesName,
		Reconcile: func(ctx context.Context, key sourceKey) (time.Duration, error) {
			c.syncSource(ctx, key)
			return 0, nil
		},
	})
	c.reconciler = &reconciler{
		graph:       c.graph,
		graphSynced: c.sourcesSynced,
		getObject: func(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
			return f.Metadata(id.cluster).Resource(c.address(id)).Namespace(id.namespace).Get(ctx, id.name, metav1.GetOptions{})
		},
		getOwner: c.getOwner,
		patch: func(ctx context.Context, id identity, data []byte) error {
			_, err := f.Metadata(id.cluster).Resource(c.address(id)).Namespace(id.namespace).Patch(ctx, id.name, types.MergePatchType, data, metav1.PatchOptions{})
			return err
		},
		delete: func(ctx context.Context, id identity, policy metav1.DeletionPropagation) error {
			return f.Metadata(id.cluster).Resource(c.address(id)).Namespace(id.namespace).Delete(ctx, id.name, metav1.DeleteOptions{
				PropagationPolicy: &policy,
				Preconditions:     metav1.NewUIDPreconditions(string(id.uid)),
			})
		},
		enqueue: c.queue.Add,
	}
	return c, nil
}

// Start discovers the built-in resources, retrying until the server answers, runs an informer
// for each, waits for their caches to sync, starts the sources of the custom resources the
// accounts serve and workers, which run until ctx is done. It returns once the workers are
// started or ctx is done, and must be called once.
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
	synced := append(c.startInformers(informersCtx), c.informers.CRDs.HasSynced, c.informers.Bindings.HasSynced, c.informers.Schemas.HasSynced)
	if !cache.WaitForNamedCacheSyncWithContext(informersCtx, synced...) {
		return
	}
	// The sources known now start before the workers, which wait for them to list before
	// handling owners that wait for their dependents; the handlers queue later changes.
	sources := c.knownSources()
	for _, key := range sources {
		c.syncSource(informersCtx, key)
	}
	c.informers.CRDs.AddEventHandler(sourceHandler(func(obj any) []sourceKey {
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			return []sourceKey{crdSource(crd)}
		}
		return nil
	}, c.sourceQueue.Add))
	c.informers.Bindings.AddEventHandler(sourceHandler(func(obj any) []sourceKey {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
			return bindingSources(b)
		}
		return nil
	}, c.sourceQueue.Add))
	logger.Info("Watching resources", "resources", len(resources), "customResourceSources", len(sources))
	go c.sourceQueue.Run(informersCtx, 1)
	go c.queue.Run(ctx, workers)
}

// AddResource watches one more resource that every account serves, in all accounts. Watching
// a resource twice is a no-op.
func (c *Controller) AddResource(r Resource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.builtins[r.GVR]; ok {
		return
	}
	c.kinds.add(r)
	informer := c.newInformer(c.factory.Metadata(string(cluster.Wildcard)).Resource(r.GVR), func(obj any) { c.observe(r, obj) })
	c.builtins[r.GVR] = informer
	if c.ctx != nil {
		go informer.RunWithContext(c.ctx)
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
	c.ctx = ctx
	synced := make([]cache.InformerSynced, 0, len(c.builtins))
	for _, informer := range c.builtins {
		go informer.RunWithContext(ctx)
		synced = append(synced, informer.HasSynced)
	}
	return synced
}

// knownSources returns the sources of every resource the cached CRDs and bindings serve.
func (c *Controller) knownSources() []sourceKey {
	keys := map[sourceKey]struct{}{}
	for _, obj := range c.state.crds.List() {
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			keys[crdSource(crd)] = struct{}{}
		}
	}
	for _, obj := range c.state.bindings.List() {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
			for _, k := range bindingSources(b) {
				keys[k] = struct{}{}
			}
		}
	}
	c.mu.Lock()
	for k := range c.sources {
		keys[k] = struct{}{}
	}
	c.mu.Unlock()
	out := make([]sourceKey, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	return out
}

// sourceHandler queues the sources that keys returns for the old and new object of every
// event.
func sourceHandler(keys func(obj any) []sourceKey, enqueue func(sourceKey)) cache.ResourceEventHandler {
	add := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		for _, k := range keys(obj) {
			enqueue(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(old, obj any) { add(old); add(obj) },
		DeleteFunc: add,
	}
}

// syncSource starts, restarts or stops the watch of a source of custom resources, as the
// accounts that define or bind its resource want it.
func (c *Controller) syncSource(ctx context.Context, key sourceKey) {
	c.mu.Lock()
	current := c.sources[key]
	c.mu.Unlock()
	version := ""
	if current != nil {
		version = current.version
	}
	want, ok := c.state.watchVersion(key, version)
	if current != nil && ok && current.version == want {
		return
	}
	logger := klog.FromContext(ctx).WithValues("source", key.String())
	if current != nil {
		c.stopSource(key, current)
		logger.V(2).Info("Stopped watching custom resources", "version", current.version)
	}
	if ok {
		c.startSource(key, want)
		logger.V(2).Info("Watching custom resources", "version", want)
	}
}

// startSource runs the informer of a source: the metadata of its resource in all accounts, in
// a version.
func (c *Controller) startSource(key sourceKey, version string) {
	gvr := schema.GroupVersionResource{Group: key.gr.Group, Version: version, Resource: key.resource()}
	observe := func(obj any) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			c.observeCustom(key.gr, m)
		}
	}
	store, informer := client.NewInformer(trimmedListWatch(c.factory.Metadata(string(cluster.Wildcard)).Resource(gvr)), &metav1.PartialObjectMetadata{},
		eventHandler(observe, c.forget), nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithCancel(c.ctx)
	s := &source{version: version, informer: informer, store: store, started: time.Now(), stop: cancel, done: make(chan struct{})}
	c.sources[key] = s
	go func() {
		defer close(s.done)
		informer.RunWithContext(ctx)
	}()
}

// stopSource stops the informer of a source and forgets the objects it had seen: a source that
// stops because its resource is gone saw them deleted; one that restarts sees them again.
func (c *Controller) stopSource(key sourceKey, s *source) {
	s.stop()
	<-s.done
	c.mu.Lock()
	delete(c.sources, key)
	c.mu.Unlock()
	for _, obj := range s.store.List() {
		c.forget(obj)
	}
}

// sourcesSynced reports whether every source has listed once or has tried for longer than
// sourceSyncGrace.
func (c *Controller) sourcesSynced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sources {
		if !s.informer.HasSynced() && time.Since(s.started) < sourceSyncGrace {
			return false
		}
	}
	return true
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

// observeCustom observes a custom resource of group/resource gr as its account serves it; an
// object of an account that serves no such resource is ignored.
func (c *Controller) observeCustom(gr schema.GroupResource, m *metav1.PartialObjectMetadata) {
	if r, ok := c.state.accountResource(m.Annotations[corev1alpha1.ClusterAnnotation], gr); ok {
		c.observe(r, m)
	}
}

// address returns how to address an object in its account now: a custom resource in the
// version its account serves it in at this moment, which may have changed since it was
// observed; a built-in resource as it was observed.
func (c *Controller) address(id identity) schema.GroupVersionResource {
	if c.kinds.builtin(id.resource) {
		return id.resource.GVR
	}
	if r, ok := c.state.accountResource(id.cluster, id.resource.GVR.GroupResource()); ok {
		return r.GVR
	}
	return id.resource.GVR
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

// newInformer returns an informer of the metadata of one resource in all accounts that hands
// added and updated objects to observe. The informer's store is keyed by account
// (client.NewInformer); the graph is the collector's index.
func (c *Controller) newInformer(res metadata.ResourceInterface, observe func(obj any)) cache.Controller {
	_, informer := client.NewInformer(trimmedListWatch(res), &metav1.PartialObjectMetadata{}, eventHandler(observe, c.forget), nil)
	return informer
}

// eventHandler hands added and updated objects to observe and deleted ones to forget.
func eventHandler(observe, forget func(obj any)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: forget,
	}
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
