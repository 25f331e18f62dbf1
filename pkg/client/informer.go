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
// handler, so several controllers share one cache.
type SharedInformer struct {
	store     cache.Indexer
	ctrl      cache.Controller
	mu        sync.RWMutex
	handlers  []cache.ResourceEventHandler
	transform func(interface{}) interface{}
}

// NewSharedInformer returns a shared informer over the wildcard list-watch lw.
func NewSharedInformer(lw cache.ListerWatcher, objType runtime.Object) *SharedInformer {
	s := &SharedInformer{}
	s.store, s.ctrl = newInformer(lw, objType, cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			for _, h := range s.snapshot() {
				h.OnAdd(obj, false)
			}
		},
		UpdateFunc: func(old, obj interface{}) {
			for _, h := range s.snapshot() {
				h.OnUpdate(old, obj)
			}
		},
		DeleteFunc: func(obj interface{}) {
			for _, h := range s.snapshot() {
				h.OnDelete(obj)
			}
		},
	}, nil, func(obj interface{}) interface{} {
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

// SetTransform makes the informer store t(obj) instead of each added or updated object, e.g. to
// share memory between equal parts of objects. Call it before Run.
func (s *SharedInformer) SetTransform(t func(interface{}) interface{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transform = t
}

func (s *SharedInformer) snapshot() []cache.ResourceEventHandler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers
}

// AddEventHandler registers h. Handlers added after Run miss the objects already listed.
func (s *SharedInformer) AddEventHandler(h cache.ResourceEventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers = append(s.handlers, h)
}

// Store returns the cache, keyed by ClusterKey.
func (s *SharedInformer) Store() cache.Indexer { return s.store }

// HasSynced reports whether the first list has been delivered.
func (s *SharedInformer) HasSynced() bool { return s.ctrl.HasSynced() }

// Run fills the cache and delivers events until ctx is done.
func (s *SharedInformer) Run(ctx context.Context) { s.ctrl.RunWithContext(ctx) }

// TypedListWatch returns the list-watch of a resource of group version gv in account c, decoded
// into the Go types of the server's scheme, which are far smaller in a cache than unstructured
// objects.
func (f *Factory) TypedListWatch(c string, gv schema.GroupVersion, resource string) (*cache.ListWatch, error) {
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
	return cache.NewListWatchFromClient(rc, resource, metav1.NamespaceAll, fields.Everything()), nil
}
