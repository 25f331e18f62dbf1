package server

import (
	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	generatedopenapi "github.com/accountmesh/accountmesh/pkg/generated/openapi"
	"github.com/accountmesh/accountmesh/pkg/registry/apis"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// installProviderAPIs installs apis.accountmesh.io: APIResourceSchemas, APIExports and
// APIBindings. Their controllers and the serving of bound resources are wired in crds.go.
func (s *apiServer) installProviderAPIs() error {
	storage, err := apis.NewStorage(scheme.Scheme, s.storage, apis.Deps{
		Definitions:   generatedopenapi.Definitions,
		BuiltinGroups: s.crdGroups.BuiltinGroups,
		Index:         s.Index,
		Authorizer:    s.Generic.Authorization.Authorizer,
		Consumers: func(_ cluster.ID, identityHash string) bool {
			return s.views.HasBindings(identityHash)
		},
		// The export informer is created after this group is installed, before the server
		// serves.
		Export: func(id cluster.ID, name string) (*apisv1alpha1.APIExport, bool) {
			if s.crds == nil {
				return nil, false
			}
			return client.Get[*apisv1alpha1.APIExport](s.crds.apis.Exports.Store(), id, "", name)
		},
	})
	if err != nil {
		return err
	}
	return s.installGroups(apiGroup{apisv1alpha1.SchemeGroupVersion, storage})
}
