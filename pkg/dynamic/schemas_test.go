package dynamic

import (
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// testCRD has two versions: v1 (storage) with spec.size defaulting to 1 and spec.color,
// v2 with spec.size only.
func testCRD() *apiextensionsv1.CustomResourceDefinition {
	props := func(extra map[string]apiextensionsv1.JSONSchemaProps) *apiextensionsv1.CustomResourceValidation {
		spec := map[string]apiextensionsv1.JSONSchemaProps{
			"size": {Type: "integer", Default: &apiextensionsv1.JSON{Raw: []byte("1")}},
		}
		for k, v := range extra {
			spec[k] = v
		}
		return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
			Type:       "object",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: spec}},
		}}
	}
	names := apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com", Names: names, Scope: apiextensionsv1.NamespaceScoped,
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: props(map[string]apiextensionsv1.JSONSchemaProps{"color": {Type: "string"}})},
				{Name: "v2", Served: true, Schema: props(nil)},
			},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{AcceptedNames: names},
	}
}

func widget(version string, spec map[string]interface{}) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "example.com/" + version, "kind": "Widget",
		"metadata": map[string]interface{}{"name": "w", "namespace": "default"},
		"spec":     spec,
	}}
}

func TestReadStored(t *testing.T) {
	t.Parallel()
	s, err := newCRDSchemas(testCRD())
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		stored   map[string]interface{}
		served   string
		wantSpec map[string]interface{}
	}{
		{name: "defaults on read", stored: map[string]interface{}{}, served: "v1", wantSpec: map[string]interface{}{"size": int64(1)}},
		{name: "unknown fields pruned", stored: map[string]interface{}{"size": int64(3), "foo": "x"}, served: "v1", wantSpec: map[string]interface{}{"size": int64(3)}},
		{name: "kept in the storage version", stored: map[string]interface{}{"size": int64(3), "color": "red"}, served: "v1", wantSpec: map[string]interface{}{"size": int64(3), "color": "red"}},
		{name: "pruned in the served version", stored: map[string]interface{}{"size": int64(3), "color": "red"}, served: "v2", wantSpec: map[string]interface{}{"size": int64(3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := widget("v1", tc.stored)
			orig := in.DeepCopy()
			out, err := s.readStored(in.DeepCopy(), schema.GroupVersion{Group: "example.com", Version: tc.served})
			require.NoError(t, err)
			require.Equal(t, "example.com/"+tc.served, out.GetAPIVersion())
			spec, _, _ := unstructured.NestedMap(out.Object, "spec")
			require.Equal(t, tc.wantSpec, spec)
			require.Equal(t, orig, in, "the input is not mutated")
		})
	}
}

func TestCoerceReportsUnknownFields(t *testing.T) {
	t.Parallel()
	s, err := newCRDSchemas(testCRD())
	require.NoError(t, err)
	u := widget("v2", map[string]interface{}{"size": int64(2), "color": "red"})
	paths, err := s.coerce(u, false, false, true)
	require.NoError(t, err)
	require.Equal(t, []string{"spec.color"}, paths, "color is unknown in v2")
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	require.Equal(t, map[string]interface{}{"size": int64(2)}, spec)
}

func TestIdentityOf(t *testing.T) {
	t.Parallel()
	a, b := testCRD(), testCRD()
	b.Name, b.UID, b.ResourceVersion = "other", "uid", "42"
	ha, err := IdentityOf(a)
	require.NoError(t, err)
	hb, err := IdentityOf(b)
	require.NoError(t, err)
	require.Equal(t, ha, hb, "metadata does not change the identity")
	b.Spec.Versions[1].Deprecated = true
	b.Spec.Versions[1].DeprecationWarning = ptr.To("old")
	hb, err = IdentityOf(b)
	require.NoError(t, err)
	require.NotEqual(t, ha, hb, "the spec does")
}

func TestServable(t *testing.T) {
	t.Parallel()
	crd := testCRD()
	require.True(t, Servable(crd))
	crd.Spec.Conversion.Strategy = apiextensionsv1.WebhookConverter
	require.False(t, Servable(crd))
	_, err := newCRDSchemas(crd)
	require.Error(t, err)
}

// BenchmarkReadStored measures the read path of one stored object served in its storage
// version: copy, prune and default.
func BenchmarkReadStored(b *testing.B) {
	s, err := newCRDSchemas(testCRD())
	require.NoError(b, err)
	in := widget("v1", map[string]interface{}{"size": int64(3), "color": "red"})
	gv := schema.GroupVersion{Group: "example.com", Version: "v1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.readStored(in.DeepCopy(), gv); err != nil {
			b.Fatal(err)
		}
	}
}
