package server

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericdiscovery "k8s.io/apiserver/pkg/endpoints/discovery"
	endpointsfilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/util/notfoundhandler"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/discovery"
	"github.com/accountmesh/accountmesh/pkg/dynamic"
	"github.com/accountmesh/accountmesh/pkg/reconciler/crd"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// customResources is the wiring of per-account CRDs: the shared CRD informer, the dynamic
// handler's index, the CRD status controller and per-account discovery.
type customResources struct {
	informer   *client.SharedInformer
	index      *dynamic.Index
	controller *crd.Controller
	synced     chan struct{}
}

// newCustomResources wires the serving of custom resources into s.
func (s *Server) newCustomResources() (*customResources, error) {
	lw, err := s.clients.TypedListWatch(string(cluster.Wildcard), apiextensionsv1.SchemeGroupVersion, "customresourcedefinitions")
	if err != nil {
		return nil, err
	}
	cr := &customResources{
		informer: client.NewSharedInformer(lw, &apiextensionsv1.CustomResourceDefinition{}),
		synced:   make(chan struct{}),
	}
	cr.index = dynamic.NewIndex(dynamic.Config{
		Storage: s.storage.Config,
		RecordResource: func(gr schema.GroupResource) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return s.purger.RecordCustomResource(ctx, gr)
		},
		Authorizer:          s.Generic.Authorization.Authorizer,
		MaxRequestBodyBytes: s.Generic.MaxRequestBodyBytes,
		OnChange: func(id cluster.ID, name string) {
			cr.controller.Enqueue(id, name)
		},
	})
	cr.index.Register(cr.informer)
	cr.informer.SetTransform(cr.index.Intern)
	if cr.controller, err = crd.New(s.clients, cr.informer, func(id cluster.ID, c *apiextensionsv1.CustomResourceDefinition) bool {
		e, ok := cr.index.Lookup(id, c.Name)
		return ok && e.Served() && equality.Semantic.DeepEqual(e.CRD.Status.AcceptedNames, c.Status.AcceptedNames)
	}); err != nil {
		return nil, err
	}

	notFound := notfoundhandler.New(scheme.Codecs, endpointsfilters.NoMuxAndDiscoveryIncompleteKey)
	s.discovery.Source = cr.index
	s.discovery.NotFound = notFound
	s.openapi.Source = cr.index
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

// start runs the informer and returns once it has synced.
func (cr *customResources) start(ctx context.Context) error {
	go cr.informer.Run(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), cr.informer.HasSynced) {
		return fmt.Errorf("CRD index did not sync")
	}
	close(cr.synced)
	return nil
}

// startControllers starts the CRD status controller.
func (cr *customResources) startControllers(ctx context.Context) {
	cr.controller.Start(ctx, 4)
}
