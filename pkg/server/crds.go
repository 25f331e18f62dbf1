package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericdiscovery "k8s.io/apiserver/pkg/endpoints/discovery"
	endpointsfilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kube-openapi/pkg/validation/spec"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/discovery"
	"github.com/accountmesh/accountmesh/pkg/dynamic"
	"github.com/accountmesh/accountmesh/pkg/names"
	apisreconciler "github.com/accountmesh/accountmesh/pkg/reconciler/apis"
	"github.com/accountmesh/accountmesh/pkg/reconciler/crd"
	"github.com/accountmesh/accountmesh/pkg/scheme"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// customResources is the wiring of per-account custom resources: the shared CRD informer, the
// dynamic handler's index, the CRD status controller and per-account discovery; and for bound
// resources the shared informers of apis.accountmesh.io and the export and binding controllers.
type customResources struct {
	informer   *client.SharedInformer
	index      *dynamic.Index
	claims     *names.Claims
	controller *crd.Controller
	apis       apisreconciler.Informers
	bindings   *apisreconciler.Controllers
	synced     chan struct{}
}

// newCustomResources wires the serving of custom resources into s.
func (s *apiServer) newCustomResources() (*customResources, error) {
	lw, err := s.clients.TypedListWatch(string(cluster.Wildcard), apiextensionsv1.SchemeGroupVersion, "customresourcedefinitions")
	if err != nil {
		return nil, err
	}
	cr := &customResources{
		informer: client.NewSharedInformer(lw, &apiextensionsv1.CustomResourceDefinition{}),
		synced:   make(chan struct{}),
		claims:   names.NewClaims(),
	}
	cr.index = dynamic.NewIndex(dynamic.Config{
		Claims:       cr.claims,
		Storage:      s.storage.Config,
		Transformers: s.storage.Transformers,
		RecordPrefix: func(prefix string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return s.purger.RecordPrefix(ctx, prefix)
		},
		Authorizer:          s.Generic.Authorization.Authorizer,
		MaxRequestBodyBytes: s.Generic.MaxRequestBodyBytes,
		OnChange: func(id cluster.ID, name string) {
			cr.controller.Enqueue(id, name)
			// A bound resource's names may free or take those of the group's CRDs.
			if _, group, ok := strings.Cut(name, "."); ok {
				cr.controller.EnqueueGroup(id, group)
			}
			// A freed name may resolve a binding's naming conflict.
			cr.bindings.AccountChanged(id)
		},
	})
	cr.index.Register(cr.informer)
	for _, i := range []struct {
		informer **client.SharedInformer
		resource string
		obj      runtime.Object
	}{
		{&cr.apis.Schemas, "apiresourceschemas", &apisv1alpha1.APIResourceSchema{}},
		{&cr.apis.Exports, "apiexports", &apisv1alpha1.APIExport{}},
		{&cr.apis.Bindings, "apibindings", &apisv1alpha1.APIBinding{}},
	} {
		lw, err := s.clients.TypedListWatch(string(cluster.Wildcard), apisv1alpha1.SchemeGroupVersion, i.resource)
		if err != nil {
			return nil, err
		}
		*i.informer = client.NewSharedInformer(lw, i.obj)
	}
	cr.index.RegisterBindings(cr.apis.Bindings, cr.apis.Schemas)
	// Provider views read exports and bindings; revocations end their watches.
	if err := s.views.Init(cr.apis.Exports, cr.apis.Bindings, cr.index); err != nil {
		return nil, err
	}
	s.viewWatches.Register(cr.apis.Bindings)
	view.OnExportDeleted(cr.apis.Exports, cr.index.ForgetExport)
	// Exports name the admission policies that apply where they are bound.
	cr.apis.Exports.AddInlineEventHandler(s.policies.index.ExportHandler())
	s.policies.index.SetBound(boundExports{cr.index})
	if cr.bindings, err = apisreconciler.New(s.clients, cr.claims, servedResources{cr.index}, s.Index, cr.apis); err != nil {
		return nil, err
	}
	cr.informer.SetTransform(cr.index.Intern)
	if cr.controller, err = crd.New(s.clients, cr.informer, func(id cluster.ID, c *apiextensionsv1.CustomResourceDefinition) bool {
		e, ok := cr.index.LookupCRD(id, c.Name)
		return ok && e.Served() && equality.Semantic.DeepEqual(e.CRD.Status.AcceptedNames, c.Status.AcceptedNames)
	}, func(id cluster.ID, c *apiextensionsv1.CustomResourceDefinition) (string, bool) {
		owner, ok := cr.claims.Claim(id, schema.GroupResource{Group: c.Spec.Group, Resource: c.Spec.Names.Plural}, names.Owner{Kind: names.OwnerCRD, Name: c.Name})
		return fmt.Sprintf("%s %q", owner.Kind, owner.Name), ok
	}, func(id cluster.ID, group string) []*apiextensionsv1.CustomResourceDefinition {
		return cr.index.Siblings(id, group, func(e *dynamic.Entry) bool { return e.Binding == nil })
	}); err != nil {
		return nil, err
	}

	notFound := notfoundhandler.New(scheme.Codecs, endpointsfilters.NoMuxAndDiscoveryIncompleteKey)
	s.discovery.Source = cr.index
	s.discovery.Views = cr.index
	s.discovery.NotFound = notFound
	s.openapi.Source = cr.index
	// The built-in v2 document exists once the generic server is prepared to run, before it
	// serves.
	s.openapi.StaticV2 = func() *spec.Swagger { return s.generic.StaticOpenAPISpec }
	s.discovery.Builtin = discovery.Builtin{
		Groups:     s.generic.DiscoveryGroupManager.(genericdiscovery.GroupLister),
		Aggregated: s.generic.AggregatedDiscoveryGroupManager,
		Addresses:  s.Generic.DiscoveryAddresses,
	}
	handler := dynamic.NewHandler(cr.index, s.Generic.AdmissionControl, notFound, s.discovery, time.Duration(s.Generic.MinRequestTimeout)*time.Second)
	s.generic.Handler.NonGoRestfulMux.HandlePrefix("/apis/", handler)
	// Until the index has synced, unknown custom resource paths answer 503, not 404.
	if err := s.generic.RegisterMuxAndDiscoveryCompleteSignal("AccountMeshCRDIndexHasSynced", cr.synced); err != nil {
		return nil, fmt.Errorf("failed to register the CRD index signal: %w", err)
	}
	return cr, nil
}

// start runs the informers and returns once they have synced.
func (cr *customResources) start(ctx context.Context) error {
	informers := []*client.SharedInformer{cr.informer, cr.apis.Schemas, cr.apis.Exports, cr.apis.Bindings}
	synced := make([]cache.InformerSynced, 0, len(informers))
	for _, i := range informers {
		go i.Run(ctx)
		synced = append(synced, i.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("CRD index did not sync")
	}
	close(cr.synced)
	return nil
}

// startControllers starts the CRD status controller and the export and binding controllers.
func (cr *customResources) startControllers(ctx context.Context) {
	cr.controller.Start(ctx, 4)
	cr.bindings.Start(ctx, 8)
}

// servedResources is what the binding controller sees of the serving index.
type servedResources struct{ index *dynamic.Index }

// Bound implements apisreconciler.Served.
func (s servedResources) Bound(id cluster.ID, name string) (apisreconciler.BoundResource, bool) {
	e, ok := s.index.Lookup(id, name)
	if !ok || e.Binding == nil {
		return apisreconciler.BoundResource{}, false
	}
	return apisreconciler.BoundResource{CRD: e.CRD, IdentityHash: e.Binding.IdentityHash, Bindings: e.Binding.Names}, true
}

// Siblings implements apisreconciler.Served.
func (s servedResources) Siblings(id cluster.ID, group, identityHash string) []*apiextensionsv1.CustomResourceDefinition {
	return s.index.Siblings(id, group, func(e *dynamic.Entry) bool { return e.Binding != nil && e.Binding.IdentityHash == identityHash })
}
