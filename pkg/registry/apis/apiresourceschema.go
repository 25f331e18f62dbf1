package apis

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func apiResourceSchemaOptions(scheme *runtime.Scheme, deps Deps) (store.Options, error) {
	cel, err := store.NewCELValidator(deps.Definitions, scheme, apisv1alpha1.SchemeGroupVersion.WithKind("APIResourceSchema"))
	if err != nil {
		return store.Options{}, err
	}
	schemaOf := func(obj runtime.Object) *apisv1alpha1.APIResourceSchema { return obj.(*apisv1alpha1.APIResourceSchema) }
	return store.Options{
		Resource: apisv1alpha1.Resource("apiresourceschemas"),
		Singular: "apiresourceschema",
		New:      func() runtime.Object { return &apisv1alpha1.APIResourceSchema{} },
		NewList:  func() runtime.Object { return &apisv1alpha1.APIResourceSchemaList{} },
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			return validateAPIResourceSchema(ctx, schemaOf(obj), deps.BuiltinGroups())
		},
		// The spec cannot change, so it is not validated again: rules that upstream tightens
		// later do not keep labels from changing.
		ValidateUpdate: cel.Validate,
		ShortNames:     []string{"ars"},
		Categories:     []string{"accountmesh"},
		Columns: []store.Column{
			{Name: "Group", Type: "string", Description: "The API group of the resource.", Value: func(obj runtime.Object) interface{} {
				return schemaOf(obj).Spec.Group
			}},
			{Name: "Plural", Type: "string", Description: "The plural resource name.", Value: func(obj runtime.Object) interface{} {
				return schemaOf(obj).Spec.Names.Plural
			}},
			{Name: "Versions", Type: "string", Description: "The versions of the resource.", Value: func(obj runtime.Object) interface{} {
				names := make([]string, 0, len(schemaOf(obj).Spec.Versions))
				for _, v := range schemaOf(obj).Spec.Versions {
					names = append(names, v.Name)
				}
				return strings.Join(names, ",")
			}},
		},
	}, nil
}

// validateAPIResourceSchema validates a new schema as upstream validates the spec of a CRD with
// the same group, names, scope and versions, and refuses the server's own groups.
func validateAPIResourceSchema(ctx context.Context, s *apisv1alpha1.APIResourceSchema, builtinGroups []string) field.ErrorList {
	var errs field.ErrorList
	if builtin := sets.New(builtinGroups...); builtin.Has(s.Spec.Group) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "group"), s.Spec.Group,
			fmt.Sprintf("the group is served by Account Mesh itself; built-in groups (%s) cannot be extended", strings.Join(sets.List(builtin), ", "))))
	}
	crd, err := crdOf(s)
	if err != nil {
		return append(errs, field.InternalError(field.NewPath("spec"), err))
	}
	version := "spec.versions[*]."
	if len(s.Spec.Versions) == 1 {
		version = "spec.versions[0]."
	}
	for _, e := range crdvalidation.ValidateCustomResourceDefinition(ctx, crd) {
		// The CRD's name and status are made up here; only its spec and the API approval
		// annotation come from the schema.
		if !strings.HasPrefix(e.Field, "spec.") && !strings.HasPrefix(e.Field, "metadata.annotations") {
			continue
		}
		// Upstream's internal CRD holds what all versions share once, at the top of the spec;
		// report it where the schema has it, in the versions.
		for from, to := range hoisted {
			if rest, ok := strings.CutPrefix(e.Field, from); ok {
				e.Field = version + to + rest
				break
			}
		}
		errs = append(errs, e)
	}
	return errs
}

// hoisted maps the top-level fields of an internal CRD spec to the version fields they come
// from when every version has the same value.
var hoisted = map[string]string{
	"spec.validation":               "schema",
	"spec.subresources":             "subresources",
	"spec.additionalPrinterColumns": "additionalPrinterColumns",
	"spec.selectableFields":         "selectableFields",
}

// crdOf returns the internal CustomResourceDefinition upstream would validate for a schema:
// the same spec, with None conversion, named <plural>.<group>, with its storage versions stored.
func crdOf(s *apisv1alpha1.APIResourceSchema) (*apiextensions.CustomResourceDefinition, error) {
	v1 := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: s.Spec.Names.Plural + "." + s.Spec.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:      s.Spec.Group,
			Names:      s.Spec.Names,
			Scope:      s.Spec.Scope,
			Versions:   s.Spec.Versions,
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter},
		},
	}
	if approval, ok := s.Annotations[apiextensionsv1.KubeAPIApprovedAnnotation]; ok {
		v1.Annotations = map[string]string{apiextensionsv1.KubeAPIApprovedAnnotation: approval}
	}
	for _, v := range s.Spec.Versions {
		if v.Storage {
			v1.Status.StoredVersions = append(v1.Status.StoredVersions, v.Name)
		}
	}
	crd := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(v1, crd, nil); err != nil {
		return nil, fmt.Errorf("failed to convert the schema to a CustomResourceDefinition: %w", err)
	}
	return crd, nil
}
