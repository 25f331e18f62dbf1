package dynamic

import (
	"fmt"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/conversion"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/spec3"
)

// crdSchemas is everything derived from one CRD identity that is not per version.
type crdSchemas struct {
	gk                    schema.GroupKind
	structural            map[string]*structuralschema.Structural
	preserveUnknownFields bool
	safe, unsafe          runtime.ObjectConvertor
	typeConverter         managedfields.TypeConverter
}

// converterFactory makes the converters between versions of a CRD. Only the None strategy is
// supported, so it needs no webhook configuration.
var converterFactory = sync.OnceValues(func() (*conversion.CRConverterFactory, error) {
	return conversion.NewCRConverterFactory(nil, nil)
})

// newCRDSchemas derives the schemas, converters and type converter of a CRD.
func newCRDSchemas(crd *apiextensionsv1.CustomResourceDefinition) (*crdSchemas, error) {
	if !Servable(crd) {
		return nil, fmt.Errorf("conversion strategy %q is not supported", crd.Spec.Conversion.Strategy)
	}
	s := &crdSchemas{
		gk:                    schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Status.AcceptedNames.Kind},
		structural:            map[string]*structuralschema.Structural{},
		preserveUnknownFields: crd.Spec.PreserveUnknownFields,
	}
	for _, v := range crd.Spec.Versions {
		val, err := apihelpers.GetSchemaForVersion(crd, v.Name)
		if err != nil {
			return nil, fmt.Errorf("failed to read the schema of version %s: %w", v.Name, err)
		}
		if val == nil {
			return nil, fmt.Errorf("version %s has no schema", v.Name)
		}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
			return nil, err
		}
		st, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, err
		}
		st = st.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(st); err != nil {
			return nil, err
		}
		s.structural[v.Name] = st
	}
	factory, err := converterFactory()
	if err != nil {
		return nil, fmt.Errorf("failed to create the converter factory: %w", err)
	}
	if s.safe, s.unsafe, err = factory.NewConverter(crd); err != nil {
		return nil, fmt.Errorf("failed to create the converter: %w", err)
	}
	var specs []*spec3.OpenAPI
	for _, v := range crd.Spec.Versions {
		o, err := builder.BuildOpenAPIV3(crd, v.Name, builder.Options{IncludeSelectableFields: true})
		if err != nil {
			return nil, fmt.Errorf("failed to build the OpenAPI schema of version %s: %w", v.Name, err)
		}
		specs = append(specs, o)
	}
	merged, err := builder.MergeSpecsV3(specs...)
	if err != nil {
		return nil, fmt.Errorf("failed to merge OpenAPI schemas: %w", err)
	}
	if s.typeConverter, err = managedfields.NewTypeConverter(merged.Components.Schemas, crd.Spec.PreserveUnknownFields); err != nil {
		return nil, fmt.Errorf("failed to create the type converter: %w", err)
	}
	return s, nil
}

// coerce prunes unknown fields and coerces metadata of an object of this CRD, in the version of
// its apiVersion. It returns the unknown field paths when asked to.
func (s *crdSchemas) coerce(u *unstructured.Unstructured, dropInvalidMetadata, repairGeneration, unknownPaths bool) ([]string, error) {
	kind, foundKind, _ := unstructured.NestedString(u.Object, "kind")
	apiVersion, foundAPIVersion, _ := unstructured.NestedString(u.Object, "apiVersion")
	om, foundMeta, metaUnknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u.Object, schemaobjectmeta.ObjectMetaOptions{
		DropMalformedFields: dropInvalidMetadata, ReturnUnknownFieldPaths: unknownPaths,
	})
	if err != nil {
		return nil, err
	}
	paths := metaUnknown
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	if gv.Group == s.gk.Group && kind == s.gk.Kind {
		st := s.structural[gv.Version]
		if st == nil {
			return nil, fmt.Errorf("version %q of %s is not defined", gv.Version, s.gk)
		}
		if !s.preserveUnknownFields {
			paths = append(paths, structuralpruning.PruneWithOptions(u.Object, st, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: unknownPaths})...)
			structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, st)
		}
		ferr, p := schemaobjectmeta.CoerceWithOptions(nil, u.Object, st, false, schemaobjectmeta.CoerceOptions{DropInvalidFields: dropInvalidMetadata, ReturnUnknownFieldPaths: unknownPaths})
		if ferr != nil {
			return nil, ferr
		}
		paths = append(paths, p...)
		if repairGeneration && om != nil && om.Generation == 0 {
			om.Generation = 1
		}
	}
	if foundKind {
		u.SetKind(kind)
	}
	if foundAPIVersion {
		u.SetAPIVersion(apiVersion)
	}
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(u.Object, om); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// defaultObj applies the defaults of the object's own version.
func (s *crdSchemas) defaultObj(u *unstructured.Unstructured) {
	gvk := u.GroupVersionKind()
	if gvk.GroupKind() != s.gk {
		return
	}
	if st := s.structural[gvk.Version]; st != nil {
		structuraldefaulting.Default(u.Object, st)
	}
}

// readStored turns a stored object into the served version: pruned and defaulted in its stored
// version, converted, and pruned again in the served version. Objects in storage were all
// written through coerce, so their metadata needs no repair. It mutates u.
func (s *crdSchemas) readStored(u *unstructured.Unstructured, served schema.GroupVersion) (*unstructured.Unstructured, error) {
	stored := u.GroupVersionKind().Version
	st := s.structural[stored]
	if st == nil {
		return nil, fmt.Errorf("stored version %q of %s is not defined by the CRD", stored, s.gk)
	}
	if !s.preserveUnknownFields {
		structuralpruning.Prune(u.Object, st, true)
		structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, st)
	}
	structuraldefaulting.Default(u.Object, st)
	if stored == served.Version {
		return u, nil
	}
	out, err := s.unsafe.ConvertToVersion(u, served)
	if err != nil {
		return nil, fmt.Errorf("failed to convert to %s: %w", served, err)
	}
	ou := out.(*unstructured.Unstructured)
	if !s.preserveUnknownFields {
		structuralpruning.Prune(ou.Object, s.structural[served.Version], true)
	}
	return ou, nil
}

// Servable reports whether the handler can serve a CRD: only the None conversion strategy is
// supported.
func Servable(crd *apiextensionsv1.CustomResourceDefinition) bool {
	return crd.Spec.Conversion == nil || crd.Spec.Conversion.Strategy == apiextensionsv1.NoneConverter
}
