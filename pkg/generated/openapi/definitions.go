package openapi

import (
	"maps"

	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"
)

// Definitions returns the OpenAPI definitions of every served type: the ones generated here and
// upstream's for apiextensions.k8s.io, which ships its own.
func Definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := apiextensionsopenapi.GetOpenAPIDefinitions(ref)
	maps.Copy(defs, GetOpenAPIDefinitions(ref))
	return defs
}
