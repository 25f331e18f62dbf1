package validatingpolicy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// paramTimeout bounds one read of params, as upstream bounds its direct reads.
const paramTimeout = time.Second

// mappingTTL is how long a resolved paramKind is kept.
const mappingTTL = time.Minute

// paramInformer is the param source upstream's dispatcher reads: it asks only whether the
// informer has synced and lists or gets through the lister, which here reads the binding's
// account directly.
type paramInformer struct {
	lister cache.GenericLister
}

// Informer implements informers.GenericInformer; only HasSynced is used.
func (p paramInformer) Informer() cache.SharedIndexInformer { return syncedInformer{} }

// Lister implements informers.GenericInformer.
func (p paramInformer) Lister() cache.GenericLister { return p.lister }

// syncedInformer is an informer that has always synced; nothing else of it is used.
type syncedInformer struct{ cache.SharedIndexInformer }

// HasSynced implements cache.SharedIndexInformer.
func (syncedInformer) HasSynced() bool { return true }

// Clients is what the param resolver needs of the client factory.
type Clients interface {
	// Dynamic returns a dynamic client for an account.
	Dynamic(c string) dynamic.Interface
	// Discovery returns a discovery client for an account.
	Discovery(c string) discovery.DiscoveryInterface
}

// Params resolves paramKinds through each account's discovery and reads params through the
// account's API.
type Params struct {
	Clients Clients

	mu       sync.Mutex
	mappings map[mappingKey]mapping
}

type mappingKey struct {
	id  cluster.ID
	gvk schema.GroupVersionKind
}

type mapping struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	at         time.Time
}

var _ ParamResolver = &Params{}

// Resolve implements ParamResolver.
func (p *Params) Resolve(id cluster.ID, gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error) {
	k := mappingKey{id, gvk}
	p.mu.Lock()
	m, ok := p.mappings[k]
	p.mu.Unlock()
	if ok && time.Since(m.at) < mappingTTL {
		return m.gvr, m.namespaced, nil
	}
	list, err := p.Clients.Discovery(string(id)).ServerResourcesForGroupVersion(gvk.GroupVersion().String())
	if err != nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("failed to discover %s: %w", gvk.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Kind != gvk.Kind || strings.Contains(r.Name, "/") {
			continue
		}
		m = mapping{gvr: gvk.GroupVersion().WithResource(r.Name), namespaced: r.Namespaced, at: time.Now()}
		p.mu.Lock()
		if p.mappings == nil {
			p.mappings = map[mappingKey]mapping{}
		}
		p.mappings[k] = m
		p.mu.Unlock()
		return m.gvr, m.namespaced, nil
	}
	return schema.GroupVersionResource{}, false, fmt.Errorf("no resource of kind %s", gvk.Kind)
}

// Lister implements ParamResolver.
func (p *Params) Lister(id cluster.ID, gvr schema.GroupVersionResource, namespaced bool) cache.GenericLister {
	return &paramLister{client: p.Clients.Dynamic(string(id)).Resource(gvr), resource: gvr.GroupResource()}
}

// paramLister reads params of one resource in one account.
type paramLister struct {
	client    dynamic.NamespaceableResourceInterface
	resource  schema.GroupResource
	namespace string
}

var _ cache.GenericLister = &paramLister{}

func (l *paramLister) resourceClient() dynamic.ResourceInterface {
	if l.namespace != "" {
		return l.client.Namespace(l.namespace)
	}
	return l.client
}

// List implements cache.GenericLister.
func (l *paramLister) List(selector labels.Selector) ([]runtime.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), paramTimeout)
	defer cancel()
	list, err := l.resourceClient().List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("failed to list %s: %w", l.resource, err)
	}
	out := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// Get implements cache.GenericLister.
func (l *paramLister) Get(name string) (runtime.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), paramTimeout)
	defer cancel()
	obj, err := l.resourceClient().Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("failed to get %s %q: %w", l.resource, name, err)
	}
	return obj, err
}

// ByNamespace implements cache.GenericLister.
func (l *paramLister) ByNamespace(namespace string) cache.GenericNamespaceLister {
	return &paramLister{client: l.client, resource: l.resource, namespace: namespace}
}
