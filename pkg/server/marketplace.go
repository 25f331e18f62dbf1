package server

import (
	"strings"

	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
)

// byAccount indexes the bindings of the shared informer by account, for the marketplace.
const byAccount = "marketplace.accountmesh.io/account"

// installMarketplace installs marketplace.accountmesh.io, computed from the shared informers of
// exports, bindings and accounts and from the authorizer; every change of those, and of RBAC
// (installAuthorization), wakes the marketplace's watches.
func (s *apiServer) installMarketplace() error {
	exports, bindings := s.crds.apis.Exports, s.crds.apis.Bindings
	if err := bindings.Store().AddIndexers(cache.Indexers{byAccount: func(obj interface{}) ([]string, error) {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
			return []string{b.Annotations[corev1alpha1.ClusterAnnotation]}, nil
		}
		return nil, nil
	}}); err != nil {
		return err
	}
	for _, inf := range []*client.SharedInformer{exports, bindings, s.accounts} {
		inf.AddInlineEventHandler(s.marketplaceChanged())
	}
	storage := marketplace.NewStorage(&marketplace.Deps{
		Index:      s.Index,
		Authorizer: s.Generic.Authorization.Authorizer,
		Exports: func() []*apisv1alpha1.APIExport {
			objs := exports.Store().List()
			out := make([]*apisv1alpha1.APIExport, 0, len(objs))
			for _, o := range objs {
				if e, ok := o.(*apisv1alpha1.APIExport); ok {
					out = append(out, e)
				}
			}
			return out
		},
		Bindings: func(id cluster.ID) []*apisv1alpha1.APIBinding {
			objs, _ := bindings.Store().ByIndex(byAccount, string(id))
			out := make([]*apisv1alpha1.APIBinding, 0, len(objs))
			for _, o := range objs {
				if b, ok := o.(*apisv1alpha1.APIBinding); ok {
					out = append(out, b)
				}
			}
			return out
		},
		DisplayName: func(id cluster.ID) string {
			e, ok := s.Index.Lookup(id)
			if !ok || e.Parent == "" {
				return ""
			}
			name := e.Path[strings.LastIndex(e.Path, cluster.PathSeparator)+len(cluster.PathSeparator):]
			acc, ok := client.Get[*corev1alpha1.Account](s.accounts.Store(), e.Parent, "", name)
			if !ok {
				return ""
			}
			return acc.Spec.DisplayName
		},
		Changes: s.marketplace,
	})
	return s.installGroups(apiGroup{marketplacev1alpha1.SchemeGroupVersion, storage})
}

// marketplaceChanged is an inline event handler that wakes the marketplace's watches on every
// event.
func (s *apiServer) marketplaceChanged() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { s.marketplace.Changed() },
		UpdateFunc: func(interface{}, interface{}) { s.marketplace.Changed() },
		DeleteFunc: func(interface{}) { s.marketplace.Changed() },
	}
}
