// Package apiextensions holds the storage of apiextensions.k8s.io/v1 CustomResourceDefinitions.
// It is upstream's registry (validation of structural schemas, CEL rules and names, the
// Terminating step on delete, stored versions) unchanged, on our per-account storage.
//
// It only stores and validates CRDs: serving their custom resources belongs to pkg/dynamic,
// their status conditions to the controllers in pkg/reconciler.
package apiextensions

import (
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
)

// NewStorage returns the storage of the apiextensions.k8s.io/v1 resources, keyed by resource
// name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	crds, err := customresourcedefinition.NewREST(scheme, getter)
	if err != nil {
		return nil, fmt.Errorf("failed to create storage for customresourcedefinitions: %w", err)
	}
	return map[string]rest.Storage{
		"customresourcedefinitions":        crds,
		"customresourcedefinitions/status": customresourcedefinition.NewStatusREST(scheme, crds),
	}, nil
}
