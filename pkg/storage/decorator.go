package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	cacherstorage "k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// RESTOptionsGetter hands registries cluster-aware storage for their resources.
type RESTOptionsGetter struct {
	// Config is the etcd configuration shared by all resources.
	Config storagebackend.Config
	// Scheme decides the storage version of each group: its preferred version.
	Scheme *runtime.Scheme
	// Codecs encodes objects for storage.
	Codecs serializer.CodecFactory
	// Prefixes records the key prefix of every resource handed out, for Purge.
	Prefixes *Prefixes
	// Uncached are resources read from etcd without a watch cache: big objects that are
	// rarely read, such as CustomResourceDefinitions, whose cache would hold a decoded copy of
	// every account's objects.
	Uncached []schema.GroupResource
	// Transformers encrypt the values of resources at rest (--encryption-provider-config);
	// nil stores every value as it is.
	Transformers value.ResourceTransformers
}

var _ generic.RESTOptionsGetter = RESTOptionsGetter{}

// ResourcePrefix returns the key prefix of a resource below the etcd prefix: <group>/<resource>,
// with "core" standing for the legacy group.
func ResourcePrefix(gr schema.GroupResource) string {
	group := gr.Group
	if group == "" {
		group = "core"
	}
	return group + "/" + gr.Resource
}

// BoundResourcePrefix returns the key prefix of a resource bound from an APIExport with the
// given identity hash: <group>/<resource>:<hash>. Neither a group nor a resource can contain
// ':', so no prefix of one export's keys is a prefix of another's or of a local CRD's.
func BoundResourcePrefix(gr schema.GroupResource, identityHash string) string {
	return ResourcePrefix(gr) + ":" + identityHash
}

// GetRESTOptions returns the storage options of a resource.
func (g RESTOptionsGetter) GetRESTOptions(resource schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	versions := g.Scheme.PrioritizedVersionsForGroup(resource.Group)
	if len(versions) == 0 {
		return generic.RESTOptions{}, fmt.Errorf("no storage version for group %q", resource.Group)
	}
	cfg := ForResource(g.Config, g.Transformers, resource)
	if g.Prefixes != nil {
		g.Prefixes.add(ResourcePrefix(resource))
	}
	cfg.Codec = g.Codecs.LegacyCodec(versions[0])
	cfg.EncodeVersioner = versions[0]
	decorator := Decorator
	if slices.Contains(g.Uncached, resource) {
		decorator = UncachedDecorator
	}
	return generic.RESTOptions{
		StorageConfig:           cfg,
		Decorator:               decorator,
		EnableGarbageCollection: true,
		DeleteCollectionWorkers: 4,
		ResourcePrefix:          ResourcePrefix(resource),
		CountMetricPollPeriod:   time.Minute,
	}, nil
}

// ForResource returns the etcd configuration of a resource: base, with the transformer that
// transformers choose for it, if any.
func ForResource(base storagebackend.Config, transformers value.ResourceTransformers, resource schema.GroupResource) *storagebackend.ConfigForResource {
	cfg := base.ForResource(resource)
	if transformers != nil {
		cfg.Transformer = transformers.TransformerForResource(resource)
	}
	return cfg
}

// Decorator builds the storage of a resource: etcd, under the watch cache keyed by the cluster
// annotation, under the key rewriter. It ignores the key function the registry passes because
// that one cannot know the cluster of a cached object.
var Decorator generic.StorageDecorator = withKeyRewriter(func(
	config *storagebackend.ConfigForResource,
	resourcePrefix string,
	_ func(obj runtime.Object) (string, error),
	newFunc func() runtime.Object,
	newListFunc func() runtime.Object,
	getAttrsFunc storage.AttrFunc,
	triggerFuncs storage.IndexerFuncs,
	indexers *cache.Indexers,
) (storage.Interface, factory.DestroyFunc, error) {
	s, destroy, err := generic.NewRawStorage(config, newFunc, newListFunc, resourcePrefix)
	if err != nil {
		return s, destroy, err
	}
	cacher, err := cacherstorage.NewCacherFromConfig(cacherstorage.Config{
		Storage:             listWatchOnly{s},
		Versioner:           storage.APIObjectVersioner{},
		GroupResource:       config.GroupResource,
		EventsHistoryWindow: config.EventsHistoryWindow,
		ResourcePrefix:      resourcePrefix,
		KeyFunc:             CacheKeyFunc(resourcePrefix),
		NewFunc:             newFunc,
		NewListFunc:         newListFunc,
		GetAttrsFunc:        getAttrsFunc,
		IndexerFuncs:        triggerFuncs,
		Indexers:            indexers,
		Codec:               config.Codec,
	})
	if err != nil {
		destroy()
		return nil, func() {}, err
	}
	delegator := cacherstorage.NewCacheDelegator(cacher, s)
	var once sync.Once
	return delegator, func() {
		once.Do(func() {
			delegator.Stop()
			cacher.Stop()
			destroy()
		})
	}, nil
})

// listWatchOnly is etcd storage as the watch cache's reflector sees it: it fills the cache with
// a list and a watch, never with a streamed watch-list. A watch-list gathers the initial objects
// in a store keyed by namespace and name, which would keep one of the same-named objects of
// different accounts, and a cache started on existing data would miss the others.
type listWatchOnly struct {
	storage.Interface
}

// IsWatchListSemanticsUnSupported tells client-go's reflector not to use a watch-list.
func (listWatchOnly) IsWatchListSemanticsUnSupported() bool { return true }

// UncachedDecorator builds the storage of a resource without a watch cache: etcd under the key
// rewriter.
var UncachedDecorator = withKeyRewriter(generic.UndecoratedStorage)

// withKeyRewriter puts the key rewriter on top of the storage d builds.
func withKeyRewriter(d generic.StorageDecorator) generic.StorageDecorator {
	return func(
		config *storagebackend.ConfigForResource,
		resourcePrefix string,
		keyFunc func(obj runtime.Object) (string, error),
		newFunc func() runtime.Object,
		newListFunc func() runtime.Object,
		getAttrsFunc storage.AttrFunc,
		triggerFuncs storage.IndexerFuncs,
		indexers *cache.Indexers,
	) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := d(config, resourcePrefix, keyFunc, newFunc, newListFunc, getAttrsFunc, triggerFuncs, indexers)
		if err != nil {
			return nil, destroy, err
		}
		return New(s, resourcePrefix, config.GroupResource), destroy, nil
	}
}

// CacheKeyFunc returns the watch cache's key function for a resource: the storage key of an
// object, built from its cluster annotation, namespace and name.
func CacheKeyFunc(resourcePrefix string) func(obj runtime.Object) (string, error) {
	return func(obj runtime.Object) (string, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return "", err
		}
		id := m.GetAnnotations()[corev1alpha1.ClusterAnnotation]
		if id == "" {
			return "", fmt.Errorf("object %s/%s has no %s annotation", m.GetNamespace(), m.GetName(), corev1alpha1.ClusterAnnotation)
		}
		key := resourcePrefix + "/" + id + "/"
		if ns := m.GetNamespace(); ns != "" {
			key += ns + "/"
		}
		return key + m.GetName(), nil
	}
}

// Storage rewrites the keys of the registry into per-cluster keys and stamps the cluster
// annotation on writes. Requests without a cluster are refused; the wildcard cluster may only
// list and watch.
type Storage struct {
	storage.Interface
	prefix   string
	resource schema.GroupResource
}

// New wraps s, the storage of the resource stored under resourcePrefix.
func New(s storage.Interface, resourcePrefix string, resource schema.GroupResource) *Storage {
	return &Storage{Interface: s, prefix: resourcePrefix, resource: resource}
}

// key rewrites a registry key <prefix>[/<rest>] into <prefix>/<cluster>[/<rest>].
func (s *Storage) key(ctx context.Context, key, verb string, cross bool) (string, cluster.ID, error) {
	id, ok := cluster.FromContext(ctx)
	if !ok {
		return "", "", apierrors.NewBadRequest(fmt.Sprintf("%s %s: the request names no account; use /clusters/<account-path>/...", verb, s.resource))
	}
	if key != s.prefix && !strings.HasPrefix(key, s.prefix+"/") {
		return "", "", apierrors.NewInternalError(fmt.Errorf("key %q is outside the resource prefix %q", key, s.prefix))
	}
	rest := key[len(s.prefix):]
	if id == cluster.Wildcard {
		if !cross {
			return "", "", apierrors.NewMethodNotSupported(s.resource, verb+" across all accounts (/clusters/*)")
		}
		if strings.Trim(rest, "/") != "" && urlNamesObjects(ctx) {
			return "", "", apierrors.NewBadRequest(fmt.Sprintf("%s %s across all accounts (/clusters/*) must not name a namespace or object", verb, s.resource))
		}
		// A narrower key without a namespace or name in the URL comes from a field selector
		// (metadata.name, metadata.namespace); the whole prefix is read and the selector
		// filters it.
		return s.prefix, id, nil
	}
	return s.prefix + "/" + string(id) + rest, id, nil
}

// urlNamesObjects reports whether the request URL names a namespace or object, as opposed to
// a list narrowed only by a field selector. RequestInfo.Name cannot tell: it is also filled
// from a metadata.name field selector; a name in the URL is a second path part after the
// resource. Requests without request info count as naming.
func urlNamesObjects(ctx context.Context) bool {
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	return !ok || info.Namespace != "" || len(info.Parts) > 1
}

// stamp sets the cluster annotation of obj, overwriting whatever the client sent.
func stamp(obj runtime.Object, id cluster.ID) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	annotations := m.GetAnnotations()
	if annotations[corev1alpha1.ClusterAnnotation] == string(id) {
		return nil
	}
	copied := make(map[string]string, len(annotations)+1)
	for k, v := range annotations {
		copied[k] = v
	}
	copied[corev1alpha1.ClusterAnnotation] = string(id)
	m.SetAnnotations(copied)
	return nil
}

// Create stores obj under the request's cluster.
func (s *Storage) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	k, id, err := s.key(ctx, key, "create", false)
	if err != nil {
		return err
	}
	if err := stamp(obj, id); err != nil {
		return err
	}
	if r := RestrictionFrom(ctx); r != nil {
		if err := r.creatable(obj, s.resource); err != nil {
			return err
		}
	}
	return s.Interface.Create(ctx, k, obj, out, ttl)
}

// Delete deletes an object of the request's cluster.
func (s *Storage) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	k, _, err := s.key(ctx, key, "delete", false)
	if err != nil {
		return err
	}
	if r := RestrictionFrom(ctx); r != nil {
		validateDeletion = r.validateDeletion(validateDeletion, s.resource, key)
		cachedExistingObject = nil
	}
	return s.Interface.Delete(ctx, k, out, preconditions, validateDeletion, cachedExistingObject, opts)
}

// Watch watches the request's cluster, or every cluster for the wildcard.
func (s *Storage) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	k, id, err := s.key(ctx, key, "watch", true)
	if err != nil {
		return nil, err
	}
	if id == cluster.Wildcard {
		opts.Recursive = true
	}
	r := RestrictionFrom(ctx)
	if r == nil {
		return s.Interface.Watch(ctx, k, opts)
	}
	opts.Predicate = r.predicate(opts.Predicate)
	w, err := s.Interface.Watch(ctx, k, opts)
	if err != nil {
		return nil, err
	}
	return r.filterWatch(w), nil
}

// Get reads an object of the request's cluster.
func (s *Storage) Get(ctx context.Context, key string, opts storage.GetOptions, objPtr runtime.Object) error {
	k, _, err := s.key(ctx, key, "get", false)
	if err != nil {
		return err
	}
	if err := s.Interface.Get(ctx, k, opts, objPtr); err != nil {
		return err
	}
	if r := RestrictionFrom(ctx); r != nil && !r.visible(objPtr) {
		return hidden(s.resource, key)
	}
	return nil
}

// GetList lists the request's cluster, or every cluster for the wildcard.
func (s *Storage) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	k, id, err := s.key(ctx, key, "list", true)
	if err != nil {
		return err
	}
	if id == cluster.Wildcard {
		opts.Recursive = true
	}
	r := RestrictionFrom(ctx)
	if r == nil {
		return s.Interface.GetList(ctx, k, opts, listObj)
	}
	opts.Predicate = r.predicate(opts.Predicate)
	if err := s.Interface.GetList(ctx, k, opts, listObj); err != nil {
		return err
	}
	return r.filterList(listObj)
}

// GuaranteedUpdate updates an object of the request's cluster, keeping its cluster annotation.
func (s *Storage) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	k, id, err := s.key(ctx, key, "update", false)
	if err != nil {
		return err
	}
	r := RestrictionFrom(ctx)
	stamped := func(input runtime.Object, res storage.ResponseMeta) (runtime.Object, *uint64, error) {
		if r != nil && !r.updatable(input) {
			return nil, nil, hidden(s.resource, key)
		}
		out, ttl, err := tryUpdate(input, res)
		if err != nil {
			return nil, nil, err
		}
		if err := stamp(out, id); err != nil {
			return nil, nil, err
		}
		if r != nil {
			if err := r.creatable(out, s.resource); err != nil {
				return nil, nil, err
			}
		}
		return out, ttl, nil
	}
	if r != nil {
		// The restriction must see the object as stored, not a cached copy it would trust.
		cachedExistingObject = nil
	}
	return s.Interface.GuaranteedUpdate(ctx, k, destination, ignoreNotFound, preconditions, stamped, cachedExistingObject)
}
