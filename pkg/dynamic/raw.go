package dynamic

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value"

	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

// rawStorages hands out one schema-less storage (etcd + watch cache + key rewriter) per
// storage prefix, shared by every account and every identity that serves it. Local CRDs of a
// group/resource share one prefix; each APIExport identity has its own.
type rawStorages struct {
	base storagebackend.Config
	// transformers encrypt values at rest, by group/resource; nil stores them as they are.
	transformers value.ResourceTransformers
	// record persists a resource prefix before its first write, so that account deletion can
	// purge custom resources of resources this process never served.
	record func(prefix string) error
	mu     sync.Mutex
	m      map[string]*rawEntry
	// closed is set by destroyAll: no storage is handed out after it.
	closed bool
}

// rawEntry is a raw storage and the number of identities using it.
type rawEntry struct {
	s       storage.Interface
	destroy factory.DestroyFunc
	refs    int
}

// acquire returns the raw storage of gr under prefix and a function to release it; the last
// release destroys it.
func (r *rawStorages) acquire(gr schema.GroupResource, prefix string) (storage.Interface, func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, fmt.Errorf("failed to serve %s: the server is shutting down", gr)
	}
	if r.m == nil {
		r.m = map[string]*rawEntry{}
	}
	e, ok := r.m[prefix]
	if !ok {
		if r.record != nil {
			if err := r.record(prefix); err != nil {
				return nil, nil, err
			}
		}
		cfg := amstorage.ForResource(r.base, r.transformers, gr)
		cfg.Codec = unstructured.UnstructuredJSONScheme
		newFunc := func() runtime.Object { return &unstructured.Unstructured{} }
		newListFunc := func() runtime.Object { return &unstructured.UnstructuredList{} }
		s, d, err := amstorage.Decorator(cfg, "/"+prefix, nil, newFunc, newListFunc, metadataAttrs, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		e = &rawEntry{s: s, destroy: d}
		r.m[prefix] = e
	}
	e.refs++
	return e.s, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		e.refs--
		if e.refs == 0 && r.m[prefix] == e {
			delete(r.m, prefix)
			e.destroy()
		}
	}, nil
}

// destroyAll destroys every raw storage, whoever still uses it, ending their watches and their
// etcd clients, and hands out none after; releases that follow do nothing.
func (r *rawStorages) destroyAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for prefix, e := range r.m {
		delete(r.m, prefix)
		e.destroy()
	}
}

// metadataAttrs is the shared cache's attribute function: labels, name and namespace.
func metadataAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	f := fields.Set{"metadata.name": m.GetName()}
	if ns := m.GetNamespace(); ns != "" {
		f["metadata.namespace"] = ns
	}
	return labels.Set(m.GetLabels()), f, nil
}
