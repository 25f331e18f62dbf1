package provider

import (
	"context"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
)

// informerSource gives scoped caches their shared informers.
type informerSource interface {
	// informerFor returns the shared informer of obj's GVK and form, creating it if needed.
	informerFor(ctx context.Context, obj runtime.Object) (*sharedInformer, error)
	// informerForKind is informerFor for a GVK in its typed form (unstructured if the scheme
	// does not know it).
	informerForKind(ctx context.Context, gvk schema.GroupVersionKind) (*sharedInformer, error)
	// allInformers returns the informers created so far.
	allInformers() []*sharedInformer
	// IndexField adds a field index on a shared informer.
	IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error
}

// scopedCache is the cache.Cache of one consumer account: reads and informers are the shared
// informers' ones, narrowed to the account.
type scopedCache struct {
	src     informerSource
	cluster multicluster.ClusterName
}

var _ cache.Cache = &scopedCache{}

// Get implements client.Reader.
func (c *scopedCache) Get(ctx context.Context, key client.ObjectKey, out client.Object, _ ...client.GetOption) error {
	si, err := c.syncedInformer(ctx, out)
	if err != nil {
		return err
	}
	obj, ok, err := si.get(c.cluster, key)
	if err != nil {
		return err
	}
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Group: si.key.gvk.Group, Resource: si.key.gvk.Kind}, key.Name)
	}
	src := obj.DeepCopyObject()
	dst, from := reflect.ValueOf(out), reflect.ValueOf(src)
	if dst.Type() != from.Type() {
		return fmt.Errorf("cannot read a %T from a cache of %T", out, src)
	}
	dst.Elem().Set(from.Elem())
	out.GetObjectKind().SetGroupVersionKind(si.key.gvk)
	return nil
}

// List implements client.Reader.
func (c *scopedCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	si, err := c.syncedInformer(ctx, list)
	if err != nil {
		return err
	}
	o := client.ListOptions{}
	o.ApplyOptions(opts)
	objs, err := si.list(c.cluster, &o)
	if err != nil {
		return err
	}
	items := make([]runtime.Object, len(objs))
	for i, obj := range objs {
		items[i] = obj.DeepCopyObject()
		items[i].GetObjectKind().SetGroupVersionKind(si.key.gvk)
	}
	if err := meta.SetList(list, items); err != nil {
		return fmt.Errorf("failed to fill a %T: %w", list, err)
	}
	list.SetContinue("")
	return nil
}

func (c *scopedCache) syncedInformer(ctx context.Context, obj runtime.Object) (*sharedInformer, error) {
	si, err := c.src.informerFor(ctx, obj)
	if err != nil {
		return nil, err
	}
	return si, si.waitForSync(ctx)
}

// GetInformer implements cache.Informers.
func (c *scopedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	si, err := c.src.informerFor(ctx, obj)
	if err != nil {
		return nil, err
	}
	return c.scoped(ctx, si, opts)
}

// GetInformerForKind implements cache.Informers.
func (c *scopedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	si, err := c.src.informerForKind(ctx, gvk)
	if err != nil {
		return nil, err
	}
	return c.scoped(ctx, si, opts)
}

func (c *scopedCache) scoped(ctx context.Context, si *sharedInformer, opts []cache.InformerGetOption) (cache.Informer, error) {
	o := cache.InformerGetOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.BlockUntilSynced == nil || *o.BlockUntilSynced {
		if err := si.waitForSync(ctx); err != nil {
			return nil, err
		}
	}
	return &scopedInformer{si: si, cluster: c.cluster}, nil
}

// RemoveInformer implements cache.Informers. The informer is shared by all accounts, so only
// this account's handlers are removed from it.
func (c *scopedCache) RemoveInformer(ctx context.Context, obj client.Object) error {
	si, err := c.src.informerFor(ctx, obj)
	if err != nil {
		return err
	}
	si.dispatch.removeCluster(c.cluster)
	return nil
}

// Start implements cache.Informers. The provider runs the shared informers; Start only waits
// for ctx.
func (c *scopedCache) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// WaitForCacheSync implements cache.Informers.
func (c *scopedCache) WaitForCacheSync(ctx context.Context) bool {
	for _, si := range c.src.allInformers() {
		if si.waitForSync(ctx) != nil {
			return false
		}
	}
	return true
}

// IndexField implements client.FieldIndexer; the index is added to the shared informer once.
func (c *scopedCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	return c.src.IndexField(ctx, obj, field, extract)
}

// scopedInformer is a shared informer seen from one account: its handlers get the events of
// that account only.
type scopedInformer struct {
	si      *sharedInformer
	cluster multicluster.ClusterName
}

var _ cache.Informer = &scopedInformer{}

// AddEventHandler implements cache.Informer. The handler first gets the account's objects
// already in the cache.
func (i *scopedInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.si.dispatch.add(i.cluster, h), nil
}

// AddEventHandlerWithResyncPeriod implements cache.Informer. Shared informers do not resync;
// the period is ignored.
func (i *scopedInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, _ time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

// AddEventHandlerWithOptions implements cache.Informer; the options are ignored.
func (i *scopedInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, _ toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

// RemoveEventHandler implements cache.Informer.
func (i *scopedInformer) RemoveEventHandler(reg toolscache.ResourceEventHandlerRegistration) error {
	r, ok := reg.(*registration)
	if !ok {
		return fmt.Errorf("registration %T was not made by this informer", reg)
	}
	i.si.dispatch.remove(r)
	return nil
}

// AddIndexers implements cache.Informer. The indexers go on the shared store, so their
// functions see the objects of every account; key their values by the
// accountmesh.io/cluster annotation to keep accounts apart.
func (i *scopedInformer) AddIndexers(indexers toolscache.Indexers) error {
	return i.si.store.AddIndexers(indexers)
}

// HasSynced implements cache.Informer.
func (i *scopedInformer) HasSynced() bool { return i.si.synced.isDone() }

// HasSyncedChecker implements cache.Informer.
func (i *scopedInformer) HasSyncedChecker() toolscache.DoneChecker { return i.si.synced }

// IsStopped implements cache.Informer.
func (i *scopedInformer) IsStopped() bool { return i.si.stopped.Load() }
