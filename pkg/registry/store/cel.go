package store

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/kube-openapi/pkg/common"
)

// CELValidator enforces the x-kubernetes-validations rules that openapi-gen writes into the
// generated OpenAPI schema of a typed resource from its +k8s:validation:cel markers, with
// upstream's CRD validator. Rules that use oldSelf run on updates only.
//
// Put markers on types, not on fields whose type is a named struct: the schema resolver
// replaces such a field's schema by the referred type's and drops the field's own rules. A rule
// about a field goes on its parent type with +k8s:validation:cel[i]:fieldPath=".field".
type CELValidator struct {
	validator *cel.Validator
}

// NewCELValidator builds the validator of the kind gvk from the OpenAPI definitions defs and
// the scheme s that knows the kind. A kind without rules gets a validator that accepts
// everything.
func NewCELValidator(defs common.GetOpenAPIDefinitions, s *runtime.Scheme, gvk schema.GroupVersionKind) (*CELValidator, error) {
	resolved, err := resolver.NewDefinitionsSchemaResolver(defs, s).ResolveSchema(gvk)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve the OpenAPI schema of %s: %w", gvk, err)
	}
	raw, err := json.Marshal(resolved)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the OpenAPI schema of %s: %w", gvk, err)
	}
	var v1Props apiextensionsv1.JSONSchemaProps
	if err := json.Unmarshal(raw, &v1Props); err != nil {
		return nil, fmt.Errorf("failed to decode the OpenAPI schema of %s: %w", gvk, err)
	}
	var props apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&v1Props, &props, nil); err != nil {
		return nil, fmt.Errorf("failed to convert the OpenAPI schema of %s: %w", gvk, err)
	}
	structural, err := structuralschema.NewStructural(&props)
	if err != nil {
		return nil, fmt.Errorf("failed to build the structural schema of %s: %w", gvk, err)
	}
	return &CELValidator{validator: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// Validate checks obj, and the transition from old when old is not nil, against the rules.
func (v *CELValidator) Validate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	if v.validator == nil {
		return nil
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	var oldU interface{} // nil, not a nil map, on create: transition rules are skipped then
	if old != nil {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(old)
		if err != nil {
			return field.ErrorList{field.InternalError(nil, err)}
		}
		oldU = m
	}
	errs, _ := v.validator.Validate(ctx, nil, nil, u, oldU, celconfig.RuntimeCELCostBudget)
	return errs
}
