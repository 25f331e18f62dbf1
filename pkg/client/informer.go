package client

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// clusterKeySeparator separates the cluster ID from the namespace/name part of a key.
const clusterKeySeparator = "|"

// ClusterKey is the cache key of an object seen through the wildcard:
// <clusterID>|[<namespace>/]<name>. Upstream informers key by namespace and name only, which
// would merge the objects of different accounts, e.g. every account's "default" namespace.
func ClusterKey(obj interface{}) (string, error) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Key, nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", fmt.Errorf("failed to key object: %w", err)
	}
	id := m.GetAnnotations()[corev1alpha1.ClusterAnnotation]
	if id == "" {
		return "", fmt.Errorf("object %s/%s has no %s annotation", m.GetNamespace(), m.GetName(), corev1alpha1.ClusterAnnotation)
	}
	key := m.GetName()
	if ns := m.GetNamespace(); ns != "" {
		key = ns + "/" + key
	}
	return id + clusterKeySeparator + key, nil
}

// ToClusterKey builds the key ClusterKey returns for an object of cluster id.
func ToClusterKey(id cluster.ID, namespace, name string) string {
	if namespace != "" {
		name = namespace + "/" + name
	}
	return string(id) + clusterKeySeparator + name
}

// SplitClusterKey splits a key made by ClusterKey.
func SplitClusterKey(key string) (id cluster.ID, namespace, name string, err error) {
	c, rest, ok := strings.Cut(key, clusterKeySeparator)
	if !ok || c == "" {
		return "", "", "", fmt.Errorf("unexpected key format %q", key)
	}
	namespace, name, err = cache.SplitMetaNamespaceKey(rest)
	return cluster.ID(c), namespace, name, err
}

// NamespaceKey returns the key (ToClusterKey) of the namespace that a namespaced object, or its
// tombstone, lives in, e.g. to queue the namespace when one of its objects changes.
func NamespaceKey(obj interface{}) (string, bool) {
	key, err := ClusterKey(obj)
	if err != nil {
		return "", false
	}
	id, namespace, _, err := SplitClusterKey(key)
	if err != nil || namespace == "" {
		return "", false
	}
	return ToClusterKey(id, "", namespace), true
}

// Get returns the object of account id, namespace and name from a cache keyed by ClusterKey,
// if it is there and of type T.
func Get[T any](store cache.Store, id cluster.ID, namespace, name string) (T, bool) {
	var zero T
	obj, ok, err := store.GetByKey(ToClusterKey(id, namespace, name))
	if err != nil || !ok {
		return zero, false
	}
	t, ok := obj.(T)
	return t, ok
}

// NewInformer returns an informer over the wildcard list-watch lw whose store is keyed by
// ClusterKey, and which calls h for every change. Run the controller to fill the store.
func NewInformer(lw cache.ListerWatcher, objType runtime.Object, h cache.ResourceEventHandler, indexers cache.Indexers) (cache.Indexer, cache.Controller) {
	return newInformer(lw, objType, h, indexers, nil)
}

// newInformer is NewInformer with a transform applied to every object before it is stored.
func newInformer(lw cache.ListerWatcher, objType runtime.Object, h cache.ResourceEventHandler, indexers cache.Indexers,
	transform func(interface{}) interface{}) (cache.Indexer, cache.Controller) {
	if indexers == nil {
		indexers = cache.Indexers{}
	}
	store := cache.NewIndexer(ClusterKey, indexers)
	fifo := cache.NewDeltaFIFOWithOptions(cache.DeltaFIFOOptions{
		KeyFunction:           ClusterKey,
		KnownObjects:          store,
		EmitDeltaTypeReplaced: true,
	})
	ctrl := cache.New(&cache.Config{
		Queue:         fifo,
		ListerWatcher: listWatchOnly{lw},
		ObjectType:    objType,
		Process: func(obj interface{}, isInInitialList bool) error {
			deltas, ok := obj.(cache.Deltas)
			if !ok {
				return fmt.Errorf("unexpected object %T in the informer queue", obj)
			}
			for _, d := range deltas {
				if transform != nil && d.Type != cache.Deleted {
					d.Object = transform(d.Object)
				}
				if err := apply(store, h, d, isInInitialList); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return store, ctrl
}

// listWatchOnly makes the reflector fill the informer with a list and a watch, never with a
// streamed watch-list: a watch-list gathers the initial objects in a store keyed by namespace and
// name, which keeps only one of the same-named objects of different accounts.
type listWatchOnly struct {
	cache.ListerWatcher
}

// IsWatchListSemanticsUnSupported tells client-go's reflector not to use a watch-list.
func (listWatchOnly) IsWatchListSemanticsUnSupported() bool { return true }

// apply applies one delta to the store and notifies h.
func apply(store cache.Indexer, h cache.ResourceEventHandler, d cache.Delta, isInInitialList bool) error {
	if d.Type == cache.Deleted {
		if err := store.Delete(d.Object); err != nil {
			return err
		}
		h.OnDelete(d.Object)
		return nil
	}
	old, exists, err := store.Get(d.Object)
	if err != nil {
		return err
	}
	if exists {
		if err := store.Update(d.Object); err != nil {
			return err
		}
		h.OnUpdate(old, d.Object)
		return nil
	}
	if err := store.Add(d.Object); err != nil {
		return err
	}
	h.OnAdd(d.Object, isInInitialList)
	return nil
}

// SharedInformer is an informer keyed by ClusterKey whose events go to every registered
// handler, so several controllers share one cache. Each handler has its own queue and
// goroutine, as upstream's shared informers do: a slow handler delays only itself.
type SharedInformer struct {
	store     cache.Indexer
	ctrl      cache.Controller
	mu        sync.RWMutex
	inline    []cache.ResourceEventHandler
	listeners []*listener
	transform func(interface{}) interface{}
	// ctx is set by Run; listeners added later start with it.
	ctx context.Context
}

// NewSharedInformer returns a shared informer over the wildcard list-watch lw.
func NewSharedInformer(lw cache.ListerWatcher, objType runtime.Object) *SharedInformer {
	s := &SharedInformer{}
	s.store, s.ctrl = newInformer(lw, objType, distributor{s}, nil, func(obj interface{}) interface{} {
		s.mu.RLock()
		t := s.transform
		s.mu.RUnlock()
		if t == nil {
			return obj
		}
		return t(obj)
	})
	return s
}

// distributor hands every event of the informer to the listeners.
type distributor struct{ s *SharedInformer }

func (d distributor) OnAdd(obj interface{}, isInInitialList bool) {
	d.s.distribute(notification{obj: obj, initial: isInInitialList})
}

func (d distributor) OnUpdate(old, obj interface{}) {
	d.s.distribute(notification{old: old, obj: obj, update: true})
}

func (d distributor) OnDelete(obj interface{}) {
	d.s.distribute(notification{obj: obj, deleted: true})
}

func (s *SharedInformer) distribute(n notification) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.inline {
		n.deliver(h)
	}
	for _, l := range s.listeners {
		l.add(n)
	}
}

// SetTransform makes the informer store t(obj) instead of each added or updated object, e.g. to
// share memory between equal parts of objects. Call it before Run.
func (s *SharedInformer) SetTransform(t func(interface{}) interface{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transform = t
}

// AddInlineEventHandler registers h to run in the informer's goroutine, before any handler of
// AddEventHandler gets the event: for cheap in-memory indexes that the work of other handlers
// reads (a controller then never sees an event its index has not). h must not block. A handler
// added after Run first gets an add for every object already in the cache.
func (s *SharedInformer) AddInlineEventHandler(h cache.ResourceEventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, obj := range s.store.List() {
		h.OnAdd(obj, true)
	}
	s.inline = append(s.inline, h)
}

// AddEventHandler registers h, with a queue and a goroutine of its own. A handler added after
// Run first gets an add for every object already in the cache, as part of the initial list.
func (s *SharedInformer) AddEventHandler(h cache.ResourceEventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := newListener(h)
	// Under the write lock no event is distributed: the handler sees each object either here
	// or in a later event, and possibly in both (an add, then an update).
	for _, obj := range s.store.List() {
		l.add(notification{obj: obj, initial: true})
	}
	s.listeners = append(s.listeners, l)
	if s.ctx != nil {
		go l.run(s.ctx)
	}
}

// Store returns the cache, keyed by ClusterKey.
func (s *SharedInformer) Store() cache.Indexer { return s.store }

// HasSynced reports whether the first list is in the cache and every handler registered so far
// has handled it.
func (s *SharedInformer) HasSynced() bool {
	if !s.ctrl.HasSynced() {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, l := range s.listeners {
		if !l.synced() {
			return false
		}
	}
	return true
}

// Run fills the cache and delivers events until ctx is done.
func (s *SharedInformer) Run(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	for _, l := range s.listeners {
		go l.run(ctx)
	}
	s.mu.Unlock()
	s.ctrl.RunWithContext(ctx)
}

// notification is one event for a handler.
type notification struct {
	old, obj        interface{}
	update, deleted bool
	// initial is set for the adds of the initial list.
	initial bool
}

// deliver calls h for the event.
func (n notification) deliver(h cache.ResourceEventHandler) {
	switch {
	case n.deleted:
		h.OnDelete(n.obj)
	case n.update:
		h.OnUpdate(n.old, n.obj)
	default:
		h.OnAdd(n.obj, n.initial)
	}
}

// listener queues the events of one handler and calls it from its own goroutine, in order. Its
// queue is unbounded, as upstream's: the informer never waits for a handler.
type listener struct {
	h       cache.ResourceEventHandler
	mu      sync.Mutex
	cond    *sync.Cond
	pending []notification
	// initial counts the initial-list adds not handled yet.
	initial int
}

func newListener(h cache.ResourceEventHandler) *listener {
	l := &listener{h: h}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *listener) add(n notification) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, n)
	if n.initial {
		l.initial++
	}
	l.cond.Signal()
}

func (l *listener) synced() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.initial == 0
}

// run handles the queued events until ctx is done.
func (l *listener) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.cond.Broadcast()
	})
	defer stop()
	for {
		l.mu.Lock()
		for len(l.pending) == 0 && ctx.Err() == nil {
			l.cond.Wait()
		}
		if ctx.Err() != nil {
			l.mu.Unlock()
			return
		}
		n := l.pending[0]
		l.pending[0] = notification{}
		l.pending = l.pending[1:]
		l.mu.Unlock()
		n.deliver(l.h)
		if n.initial {
			l.mu.Lock()
			l.initial--
			l.mu.Unlock()
		}
	}
}

// TypedListWatch returns the list-watch of a resource of group version gv in account c, decoded
// into the Go types of the server's scheme, which are far smaller in a cache than unstructured
// objects.
func (f *Factory) TypedListWatch(c string, gv schema.GroupVersion, resource string) (*cache.ListWatch, error) {
	return f.TypedListWatchSelected(c, gv, resource, fields.Everything())
}

// TypedListWatchSelected is TypedListWatch restricted to the objects whose fields match
// selector, e.g. metadata.name=default.
func (f *Factory) TypedListWatchSelected(c string, gv schema.GroupVersion, resource string, selector fields.Selector) (*cache.ListWatch, error) {
	cfg := f.Config(c)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rc, err := rest.RESTClientForConfigAndClient(cfg, f.httpClient)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for %s: %w", resource, err)
	}
	return cache.NewListWatchFromClient(rc, resource, metav1.NamespaceAll, selector), nil
}

// MetadataListWatch returns the list-watch of the metadata of resource gvr in account c whose
// fields match selector, as PartialObjectMetadata: for caches that need no more than names,
// finalizers and deletion timestamps.
func (f *Factory) MetadataListWatch(c string, gvr schema.GroupVersionResource, selector fields.Selector) *cache.ListWatch {
	res := f.Metadata(c).Resource(gvr)
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

// DropManagedFields is an informer transform that drops the managed fields of objects, which
// no controller reads, to keep caches small.
func DropManagedFields(obj interface{}) interface{} {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj
}
