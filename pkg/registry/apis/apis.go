// Package apis serves the apis.accountmesh.io API: APIResourceSchemas, APIExports,
// APIBindings and ServiceInstances (which only the platform creates). It validates them (schemas as upstream validates CRD specs, immutability from
// the types' CEL markers) and decides at creation who may bind an export: the verb bind on
// the export, in the export's account, for the user creating the binding, with the reserved
// groups that name the consumer account and its subtrees added (pkg/authentication).
//
// It looks exports up in the server's cache only for a binding's plan (after the bind check
// passed, so that only those who may bind learn an export's plans) and asks whether an export
// has bindings before a change of its service model. It must not serve bound resources:
// resolving exports and serving their resources is the job of the export and binding
// controllers and of pkg/dynamic.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/kube-openapi/pkg/common"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Index resolves accounts: a path or cluster ID to an ID, and an ID to its entry.
type Index interface {
	Resolve(pathOrID string) (cluster.ID, bool)
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Deps are what the registries need from the server.
type Deps struct {
	// Definitions are the OpenAPI definitions the CEL markers of the types are read from.
	Definitions common.GetOpenAPIDefinitions
	// BuiltinGroups returns the groups the server serves itself; schemas may not use them.
	BuiltinGroups func() []string
	// Index resolves the account of a binding's export.
	Index Index
	// Authorizer decides whether the creator of a binding may bind the export, and may
	// perform the verbs of the claims the binding accepts.
	Authorizer authorizer.Authorizer
	// Consumers reports whether the export of account id with identityHash has bindings; nil
	// means it never has.
	Consumers func(id cluster.ID, identityHash string) bool
	// Export reads an export of account id from the server's cache, to default and check a
	// binding's plan; nil, or an export not found, leaves the plan to the binding controller.
	Export func(id cluster.ID, name string) (*apisv1alpha1.APIExport, bool)
}

// NewStorage returns the storage of the apis.accountmesh.io/v1alpha1 resources, keyed by
// resource name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, deps Deps) (map[string]rest.Storage, error) {
	schemas, err := apiResourceSchemaOptions(scheme, deps)
	if err != nil {
		return nil, err
	}
	exports, err := apiExportOptions(scheme, deps)
	if err != nil {
		return nil, err
	}
	bindings, err := apiBindingOptions(scheme, deps)
	if err != nil {
		return nil, err
	}
	instances, err := serviceInstanceOptions(scheme, deps)
	if err != nil {
		return nil, err
	}
	return store.NewGroup(scheme, getter, schemas, exports, bindings, instances)
}
