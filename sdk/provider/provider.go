package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
)

// Options configure a Provider.
type Options struct {
	// Config reaches the server as a user with access to the export's content in the provider
	// account (e.g. an admin of it). Its Host is the server root or an account URL
	// (https://HOST/clusters/<path>); the account part is dropped.
	Config *rest.Config
	// Path is the provider account's path (root:prov) or cluster ID.
	Path string
	// Export is the APIExport's name in the provider account.
	Export string
	// Scheme knows the Go types the controllers use; apis.accountmesh.io/v1alpha1 is added to
	// it if missing. Defaults to a new scheme with client-go's types.
	Scheme *runtime.Scheme
	// Objects are watched from Start on, before any account is engaged; other kinds get their
	// shared informer when a controller first asks for them.
	Objects []client.Object
}

// Provider is a multicluster.Provider over an APIExport's provider view: each consumer
// account with a Bound APIBinding of the export is a cluster named by its cluster ID.
type Provider struct {
	scheme     *runtime.Scheme
	objects    []client.Object
	base       *rest.Config
	viewPrefix string // https://HOST/services/export/<path>/<export>/clusters/
	httpClient *http.Client
	mapper     meta.RESTMapper
	wildcard   client.WithWatch

	mu        sync.Mutex
	ctx       context.Context // set by Start; informers created later run with it
	informers map[informerKey]*sharedInformer
	clusters  map[multicluster.ClusterName]*engagement
}

// engagement is an engaged consumer account.
type engagement struct {
	cluster *scopedCluster
	cancel  context.CancelFunc
}

var (
	_ multicluster.Provider         = &Provider{}
	_ multicluster.ProviderRunnable = &Provider{}
)

// New returns a provider for the export o.Path/o.Export. It does not contact the server
// until Start.
func New(o Options) (*Provider, error) {
	if o.Config == nil {
		return nil, errors.New("a rest config is required")
	}
	if o.Path == "" || o.Export == "" {
		return nil, errors.New("the provider account path and the export name are required")
	}
	if strings.ContainsAny(o.Path+o.Export, "/?#") {
		return nil, fmt.Errorf("invalid provider path %q or export name %q", o.Path, o.Export)
	}
	if o.Scheme == nil {
		// A scheme of its own: client-go's global one is shared, and adding to it races.
		o.Scheme = runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(o.Scheme); err != nil {
			return nil, err
		}
	}
	// The provider reads the view's APIBindings; add their types unless the scheme has them.
	if !o.Scheme.Recognizes(apisv1alpha1.SchemeGroupVersion.WithKind("APIBinding")) {
		if err := apisv1alpha1.AddToScheme(o.Scheme); err != nil {
			return nil, fmt.Errorf("failed to add %s to the scheme: %w", apisv1alpha1.SchemeGroupVersion, err)
		}
	}
	base := rest.CopyConfig(o.Config)
	if i := strings.Index(base.Host, "/clusters/"); i >= 0 {
		base.Host = base.Host[:i]
	}
	base.Host = strings.TrimSuffix(base.Host, "/")
	p := &Provider{
		scheme:     o.Scheme,
		objects:    o.Objects,
		base:       base,
		viewPrefix: base.Host + "/services/export/" + o.Path + "/" + o.Export + "/clusters/",
		informers:  map[informerKey]*sharedInformer{},
		clusters:   map[multicluster.ClusterName]*engagement{},
	}
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, fmt.Errorf("failed to create the HTTP client: %w", err)
	}
	p.httpClient = hc
	star := p.ViewConfig("*")
	if p.mapper, err = apiutil.NewDynamicRESTMapper(star, hc); err != nil {
		return nil, fmt.Errorf("failed to create the REST mapper of the view: %w", err)
	}
	if p.wildcard, err = client.NewWithWatch(star, client.Options{HTTPClient: hc, Scheme: p.scheme, Mapper: p.mapper}); err != nil {
		return nil, fmt.Errorf("failed to create the wildcard client of the view: %w", err)
	}
	return p, nil
}

// ViewConfig returns a config for account c of the view
// (https://HOST/services/export/<path>/<export>/clusters/<c>); "*" addresses every bound
// account, for list and watch.
func (p *Provider) ViewConfig(c multicluster.ClusterName) *rest.Config {
	cfg := rest.CopyConfig(p.base)
	cfg.Host = p.viewPrefix + string(c)
	return cfg
}

// Get implements multicluster.Provider: the engaged account c.
func (p *Provider) Get(_ context.Context, c multicluster.ClusterName) (cluster.Cluster, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.clusters[c]; ok {
		return e.cluster, nil
	}
	return nil, multicluster.ErrClusterNotFound
}

// IndexField implements multicluster.Provider. The index is added once, to the shared
// informer of obj's kind, and serves every account.
func (p *Provider) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	si, err := p.informerFor(ctx, obj)
	if err != nil {
		return err
	}
	return si.indexField(field, extract)
}

// Start implements multicluster.ProviderRunnable. It runs the shared informers and engages
// each account with a Bound binding of the export (no deletion timestamp) with aware,
// disengaging it when no such binding is left. It returns when ctx is done.
func (p *Provider) Start(ctx context.Context, aware multicluster.Aware) error {
	logger := klog.FromContext(ctx).WithValues("export", p.viewPrefix)
	p.mu.Lock()
	if p.ctx != nil {
		p.mu.Unlock()
		return errors.New("the provider was already started")
	}
	p.ctx = ctx
	for _, si := range p.informers {
		go si.run(ctx)
	}
	p.mu.Unlock()

	for _, obj := range p.objects {
		if _, err := p.informerFor(ctx, obj); err != nil {
			return err
		}
	}
	bindings, err := p.informerFor(ctx, &apisv1alpha1.APIBinding{})
	if err != nil {
		return err
	}
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[multicluster.ClusterName](),
		workqueue.TypedRateLimitingQueueConfig[multicluster.ClusterName]{Name: "accountmesh-provider"})
	enqueue := func(obj any) {
		if c := clusterOf(obj); c != allClusters {
			queue.Add(c)
		}
	}
	reg := bindings.dispatch.add(allClusters, toolscache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	defer bindings.dispatch.remove(reg)
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	if bindings.waitForSync(ctx) != nil {
		return nil // ctx ended before the first list: a normal stop.
	}
	logger.Info("Provider started")
	for {
		c, shutdown := queue.Get()
		if shutdown {
			return nil
		}
		if err := p.sync(ctx, aware, bindings, c); err != nil {
			logger.Error(err, "Failed to engage account", "cluster", c)
			queue.AddRateLimited(c)
		} else {
			queue.Forget(c)
		}
		queue.Done(c)
	}
}

// sync engages or disengages account c to match its bindings.
func (p *Provider) sync(ctx context.Context, aware multicluster.Aware, bindings *sharedInformer, c multicluster.ClusterName) error {
	want := false
	for _, item := range bindings.byCluster(c) {
		// An unbinding account stays engaged until its binding is gone: the binding deletes
		// the account's instances first, and the provider's finalizers must be able to run.
		if b, ok := item.(*apisv1alpha1.APIBinding); ok && (b.Status.Phase == apisv1alpha1.BindingPhaseBound || b.Status.Phase == apisv1alpha1.BindingPhaseUnbinding) {
			want = true
			break
		}
	}
	p.mu.Lock()
	_, engaged := p.clusters[c]
	switch {
	case want && !engaged:
		cctx, cancel := context.WithCancel(ctx)
		cl, err := p.newCluster(cctx, c)
		if err != nil {
			p.mu.Unlock()
			cancel()
			return err
		}
		p.clusters[c] = &engagement{cluster: cl, cancel: cancel}
		p.mu.Unlock()
		if err := aware.Engage(cctx, c, cl); err != nil {
			p.disengage(c)
			return fmt.Errorf("failed to engage account %s: %w", c, err)
		}
		klog.FromContext(ctx).Info("Engaged account", "cluster", c)
	case !want && engaged:
		p.mu.Unlock()
		p.disengage(c)
		klog.FromContext(ctx).Info("Disengaged account", "cluster", c)
	default:
		p.mu.Unlock()
	}
	return nil
}

// disengage ends account c's engagement, forgets it and drops its event handlers.
func (p *Provider) disengage(c multicluster.ClusterName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.clusters[c]; ok {
		e.cancel()
		delete(p.clusters, c)
	}
	for _, si := range p.informers {
		si.dispatch.removeCluster(c)
	}
}

// newCluster builds the cluster of account c; ctx ends when c is disengaged.
func (p *Provider) newCluster(ctx context.Context, c multicluster.ClusterName) (*scopedCluster, error) {
	cfg := p.ViewConfig(c)
	sc := &scopedCache{src: p, cluster: c}
	cl, err := client.New(cfg, client.Options{HTTPClient: p.httpClient, Scheme: p.scheme, Mapper: p.mapper,
		Cache: &client.CacheOptions{Reader: sc}})
	if err != nil {
		return nil, fmt.Errorf("failed to create the client of account %s: %w", c, err)
	}
	reader, err := client.New(cfg, client.Options{HTTPClient: p.httpClient, Scheme: p.scheme, Mapper: p.mapper})
	if err != nil {
		return nil, fmt.Errorf("failed to create the API reader of account %s: %w", c, err)
	}
	return &scopedCluster{name: c, config: cfg, httpClient: p.httpClient, scheme: p.scheme, mapper: p.mapper,
		cache: sc, client: cl, apiReader: reader, ctx: ctx}, nil
}

// informerFor returns the shared informer of obj's kind and form, creating it, and running it
// once the provider has started.
func (p *Provider) informerFor(_ context.Context, obj runtime.Object) (*sharedInformer, error) {
	gvk, err := gvkOf(p.scheme, obj)
	if err != nil {
		return nil, err
	}
	return p.informer(informerKey{gvk: gvk, form: formOf(obj)})
}

// informerForKind returns the shared informer of gvk, typed if the scheme knows it.
func (p *Provider) informerForKind(_ context.Context, gvk schema.GroupVersionKind) (*sharedInformer, error) {
	key := informerKey{gvk: gvk, form: formTyped}
	if !p.scheme.Recognizes(gvk) {
		key.form = formUnstructured
	}
	return p.informer(key)
}

func (p *Provider) informer(key informerKey) (*sharedInformer, error) {
	p.mu.Lock()
	si, ok := p.informers[key]
	p.mu.Unlock()
	if ok {
		return si, nil
	}
	// Discovery may take a round trip: not under the lock.
	namespaced, err := apiutil.IsGVKNamespaced(key.gvk, p.mapper)
	if err != nil {
		return nil, fmt.Errorf("failed to find %s in the view: %w", key.gvk, err)
	}
	newObject, newList, err := newObjects(p.scheme, key)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if si, ok := p.informers[key]; ok {
		return si, nil
	}
	si = newSharedInformer(key, namespaced, &listWatch{client: p.wildcard, newList: newList}, newObject())
	p.informers[key] = si
	if p.ctx != nil {
		go si.run(p.ctx)
	}
	return si, nil
}

// allInformers returns the shared informers created so far.
func (p *Provider) allInformers() []*sharedInformer {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*sharedInformer, 0, len(p.informers))
	for _, si := range p.informers {
		out = append(out, si)
	}
	return out
}
