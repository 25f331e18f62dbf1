package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	amclient "github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Index names of a shared informer's store. Field indexes of IndexField are named
// fieldIndexPrefix + field.
const (
	clusterIndex          = "cluster"
	clusterNamespaceIndex = "cluster-namespace"
	fieldIndexPrefix      = "field:"
)

// form is how controller-runtime represents objects of a GVK: Go types of the scheme,
// unstructured, or metadata only. Each form of a GVK has its own informer, as in
// controller-runtime's cache.
type form int

const (
	formTyped form = iota
	formUnstructured
	formMetadata
)

func formOf(obj runtime.Object) form {
	switch obj.(type) {
	case runtime.Unstructured:
		return formUnstructured
	case *metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList:
		return formMetadata
	default:
		return formTyped
	}
}

// informerKey identifies a shared informer.
type informerKey struct {
	gvk  schema.GroupVersionKind
	form form
}

// sharedInformer watches one resource across every consumer account through the view's
// wildcard. Its store is keyed <clusterID>|<namespace>/<name>, so equal names in different
// accounts stay apart, and indexed by account and account+namespace.
type sharedInformer struct {
	key        informerKey
	namespaced bool
	store      toolscache.Indexer
	ctrl       toolscache.Controller
	dispatch   *dispatcher
	synced     *doneChecker
	stopped    atomic.Bool

	mu     sync.Mutex
	fields map[string]bool // field indexes added by IndexField
}

// newSharedInformer returns an informer of key over lw; run it with run.
func newSharedInformer(key informerKey, namespaced bool, lw toolscache.ListerWatcher, objType runtime.Object) *sharedInformer {
	si := &sharedInformer{key: key, namespaced: namespaced, fields: map[string]bool{}}
	si.synced = newDoneChecker(key.gvk.String())
	si.dispatch = newDispatcher(si.byCluster, si.synced)
	si.store, si.ctrl = amclient.NewInformer(lw, objType, si.dispatch, toolscache.Indexers{
		clusterIndex:          indexByCluster,
		clusterNamespaceIndex: indexByClusterNamespace,
	})
	return si
}

// run fills the store and delivers events until ctx is done.
func (si *sharedInformer) run(ctx context.Context) {
	go func() {
		if toolscache.WaitForCacheSync(ctx.Done(), si.ctrl.HasSynced) {
			si.synced.done()
		}
	}()
	si.ctrl.RunWithContext(ctx)
	si.stopped.Store(true)
}

// waitForSync blocks until the informer has synced or ctx is done.
func (si *sharedInformer) waitForSync(ctx context.Context) error {
	select {
	case <-si.synced.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("failed to wait for the %s informer to sync: %w", si.key.gvk, ctx.Err())
	}
}

// byCluster returns the stored objects of account c, or all of them for allClusters.
func (si *sharedInformer) byCluster(c multicluster.ClusterName) []any {
	if c == allClusters {
		return si.store.List()
	}
	objs, err := si.store.ByIndex(clusterIndex, string(c))
	if err != nil {
		return nil
	}
	return objs
}

// get returns the object of account c with key k.
func (si *sharedInformer) get(c multicluster.ClusterName, k client.ObjectKey) (runtime.Object, bool, error) {
	ns := k.Namespace
	if !si.namespaced {
		ns = ""
	}
	item, ok, err := si.store.GetByKey(amclient.ToClusterKey(cluster.ID(c), ns, k.Name))
	if err != nil || !ok {
		return nil, false, err
	}
	obj, isObj := item.(runtime.Object)
	if !isObj {
		return nil, false, fmt.Errorf("the %s informer holds %T, which is not an object", si.key.gvk, item)
	}
	return obj, true, nil
}

// list returns the objects of account c that match o, as controller-runtime's cache reader
// does: exact field matches through IndexField indexes, then labels, then the limit.
func (si *sharedInformer) list(c multicluster.ClusterName, o *client.ListOptions) ([]runtime.Object, error) {
	if o.Continue != "" {
		return nil, fmt.Errorf("continue list option is not supported by the cache")
	}
	ns := o.Namespace
	if !si.namespaced {
		ns = ""
	}
	var items []any
	var err error
	switch {
	case o.FieldSelector != nil && !o.FieldSelector.Empty():
		items, err = si.byFields(c, ns, o)
	case ns != "":
		items, err = si.store.ByIndex(clusterNamespaceIndex, clusterNamespaceKey(string(c), ns))
	default:
		items = si.byCluster(c)
	}
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Object, 0, len(items))
	for _, item := range items {
		if o.Limit > 0 && int64(len(out)) >= o.Limit {
			break
		}
		obj, isObj := item.(runtime.Object)
		if !isObj {
			return nil, fmt.Errorf("the %s informer holds %T, which is not an object", si.key.gvk, item)
		}
		if o.LabelSelector != nil && !o.LabelSelector.Empty() {
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, err
			}
			if !o.LabelSelector.Matches(labels.Set(m.GetLabels())) {
				continue
			}
		}
		out = append(out, obj)
	}
	return out, nil
}

func (si *sharedInformer) byFields(c multicluster.ClusterName, ns string, o *client.ListOptions) ([]any, error) {
	reqs := o.FieldSelector.Requirements()
	indexers := si.store.GetIndexers()
	var items []any
	for i, req := range reqs {
		if req.Operator != "=" && req.Operator != "==" {
			return nil, fmt.Errorf("non-exact field matches are not supported by the cache")
		}
		name := fieldIndexPrefix + req.Field
		value := fieldKey(string(c), ns, req.Value)
		if i == 0 {
			var err error
			if items, err = si.store.ByIndex(name, value); err != nil {
				return nil, fmt.Errorf("failed to list by field %q: %w", req.Field, err)
			}
			continue
		}
		fn, ok := indexers[name]
		if !ok {
			return nil, fmt.Errorf("index with name %s does not exist", name)
		}
		kept := items[:0:0]
		for _, item := range items {
			vals, err := fn(item)
			if err != nil {
				return nil, err
			}
			if slices.Contains(vals, value) {
				kept = append(kept, item)
			}
		}
		items = kept
	}
	return items, nil
}

// indexField adds a field index over extract; adding a field twice keeps the first.
func (si *sharedInformer) indexField(field string, extract client.IndexerFunc) error {
	si.mu.Lock()
	defer si.mu.Unlock()
	if si.fields[field] {
		return nil
	}
	err := si.store.AddIndexers(toolscache.Indexers{fieldIndexPrefix + field: func(item any) ([]string, error) {
		obj, ok := item.(client.Object)
		if !ok {
			return nil, fmt.Errorf("object %T is not a client.Object", item)
		}
		c := obj.GetAnnotations()[corev1alpha1.ClusterAnnotation]
		raw := extract(obj)
		keys := make([]string, 0, 2*len(raw))
		for _, v := range raw {
			keys = append(keys, fieldKey(c, obj.GetNamespace(), v))
			if obj.GetNamespace() != "" {
				keys = append(keys, fieldKey(c, "", v))
			}
		}
		return keys, nil
	}})
	if err != nil {
		return fmt.Errorf("failed to index field %q of %s: %w", field, si.key.gvk, err)
	}
	si.fields[field] = true
	return nil
}

func indexByCluster(item any) ([]string, error) {
	m, err := meta.Accessor(item)
	if err != nil {
		return nil, err
	}
	return []string{m.GetAnnotations()[corev1alpha1.ClusterAnnotation]}, nil
}

func indexByClusterNamespace(item any) ([]string, error) {
	m, err := meta.Accessor(item)
	if err != nil {
		return nil, err
	}
	if m.GetNamespace() == "" {
		return nil, nil
	}
	return []string{clusterNamespaceKey(m.GetAnnotations()[corev1alpha1.ClusterAnnotation], m.GetNamespace())}, nil
}

// clusterNamespaceKey and fieldKey build index values; "|" occurs in neither cluster IDs nor
// namespaces, so the parts cannot run into each other. An empty namespace in fieldKey stands
// for all namespaces.
func clusterNamespaceKey(c, ns string) string { return c + "|" + ns }

func fieldKey(c, ns, value string) string { return c + "|" + ns + "|" + value }

// listWatch lists and watches one resource through the view's wildcard with a
// controller-runtime client, so typed, unstructured and metadata forms all work.
type listWatch struct {
	client  client.WithWatch
	newList func() client.ObjectList
}

var _ toolscache.ListerWatcherWithContext = &listWatch{}

func (lw *listWatch) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	list := lw.newList()
	if err := lw.client.List(ctx, list, &client.ListOptions{Raw: &opts}); err != nil {
		return nil, err
	}
	return list, nil
}

func (lw *listWatch) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return lw.client.Watch(ctx, lw.newList(), &client.ListOptions{Raw: &opts})
}

// List implements toolscache.Lister.
func (lw *listWatch) List(opts metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), opts)
}

// Watch implements toolscache.Watcher.
func (lw *listWatch) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return lw.WatchWithContext(context.Background(), opts)
}

// IsWatchListSemanticsUnSupported makes the reflector list, then watch, instead of asking
// for a streamed initial list.
func (lw *listWatch) IsWatchListSemanticsUnSupported() bool { return true }

// newObjects returns constructors of an object and a list of key in scheme s.
func newObjects(s *runtime.Scheme, key informerKey) (func() client.Object, func() client.ObjectList, error) {
	listGVK := key.gvk.GroupVersion().WithKind(key.gvk.Kind + "List")
	switch key.form {
	case formUnstructured:
		return func() client.Object {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(key.gvk)
				return u
			}, func() client.ObjectList {
				u := &unstructured.UnstructuredList{}
				u.SetGroupVersionKind(listGVK)
				return u
			}, nil
	case formMetadata:
		return func() client.Object {
				m := &metav1.PartialObjectMetadata{}
				m.SetGroupVersionKind(key.gvk)
				return m
			}, func() client.ObjectList {
				m := &metav1.PartialObjectMetadataList{}
				m.SetGroupVersionKind(listGVK)
				return m
			}, nil
	}
	if _, err := s.New(key.gvk); err != nil {
		return nil, nil, fmt.Errorf("failed to create a %s: %w", key.gvk, err)
	}
	if _, err := s.New(listGVK); err != nil {
		return nil, nil, fmt.Errorf("failed to create a %s: %w", listGVK, err)
	}
	return func() client.Object {
			o, _ := s.New(key.gvk)
			return o.(client.Object)
		}, func() client.ObjectList {
			l, _ := s.New(listGVK)
			return l.(client.ObjectList)
		}, nil
}

// gvkOf returns the GVK of the items of obj, a single object or a list.
func gvkOf(s *runtime.Scheme, obj runtime.Object) (schema.GroupVersionKind, error) {
	gvk, err := apiutil.GVKForObject(obj, s)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	if meta.IsListType(obj) {
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	}
	return gvk, nil
}
