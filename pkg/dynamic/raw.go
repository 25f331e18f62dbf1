package dynamic

import (
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

	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

// rawStorages hands out one schema-less storage (etcd + watch cache + key rewriter) per
// storage prefix, shared by every account and every identity that serves it. Local CRDs of a
// group/resource share one prefix; each APIExport identity has its own.
type rawStorages struct {
	base storagebackend.Config
	// record persists a resource prefix before its first write, so that account deletion can
	// purge custom resources of resources this process never served.
	record func(prefix string) error
	mu     sync.Mutex
	m      map[string]*rawEntry
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
		cfg := r.base.ForResource(gr)
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
		if e.refs == 0 {
			delete(r.m, prefix)
			e.destroy()
		}
	}, nil
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
