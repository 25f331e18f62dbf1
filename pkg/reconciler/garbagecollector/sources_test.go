package garbagecollector

import (
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
)

// crd is account id's CRD of widgets.example.com serving versions, the first stored, with
// kind and scope; accepted unless told otherwise.
func crd(id, kind string, namespaced bool, versions ...string) *apiextensionsv1.CustomResourceDefinition {
	c := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: id}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: kind},
			Scope: apiextensionsv1.ClusterScoped,
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{Conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
			{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionTrue},
		}},
	}
	if namespaced {
		c.Spec.Scope = apiextensionsv1.NamespaceScoped
	}
	c.Status.AcceptedNames = c.Spec.Names
	for i, v := range versions {
		c.Spec.Versions = append(c.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: true, Storage: i == 0})
	}
	return c
}

func widgetsIn(v, kind string, namespaced bool) Resource {
	return Resource{GVR: schema.GroupVersionResource{Group: "example.com", Version: v, Resource: "widgets"}, Kind: kind, Namespaced: namespaced}
}

func TestCRDResource(t *testing.T) {
	t.Parallel()
	notAccepted := crd("a", "Widget", true, "v1")
	notAccepted.Status.Conditions = nil
	webhook := crd("a", "Widget", true, "v1")
	webhook.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter}
	storageNotServed := crd("a", "Widget", true, "v1", "v2")
	storageNotServed.Spec.Versions[0].Served = false
	nothingServed := crd("a", "Widget", true, "v1")
	nothingServed.Spec.Versions[0].Served = false
	tests := []struct {
		name string
		crd  *apiextensionsv1.CustomResourceDefinition
		want Resource
		ok   bool
	}{
		{name: "storage version, accepted kind and scope", crd: crd("a", "Gizmo", false, "v2", "v1"), want: widgetsIn("v2", "Gizmo", false), ok: true},
		{name: "first served version when the storage one is not", crd: storageNotServed, want: widgetsIn("v2", "Widget", true), ok: true},
		{name: "names not accepted", crd: notAccepted},
		{name: "conversion webhook", crd: webhook},
		{name: "no version served", crd: nothingServed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := crdResource(tt.crd)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLocalVersion(t *testing.T) {
	t.Parallel()
	notAccepted := crd("z", "Widget", true, "v3")
	notAccepted.Status.Conditions = nil
	tests := []struct {
		name    string
		crds    []*apiextensionsv1.CustomResourceDefinition
		current string
		want    string
	}{
		{name: "no CRD"},
		{name: "only CRDs that serve nothing", crds: []*apiextensionsv1.CustomResourceDefinition{notAccepted}, current: "v3"},
		{
			name: "the version most accounts serve",
			crds: []*apiextensionsv1.CustomResourceDefinition{crd("c", "Widget", true, "v2"), crd("b", "Gizmo", false, "v1", "v2"), crd("e", "Widget", true, "v1"), notAccepted, crd("d", "Widget", true, "v1")},
			want: "v1",
		},
		{
			name:    "the current version while an account serves it",
			crds:    []*apiextensionsv1.CustomResourceDefinition{crd("a", "Widget", true, "v1"), crd("b", "Widget", true, "v1"), crd("c", "Widget", true, "v2")},
			current: "v2", want: "v2",
		},
		{
			name:    "a new version when nobody serves the current one",
			crds:    []*apiextensionsv1.CustomResourceDefinition{crd("a", "Widget", true, "v1"), notAccepted},
			current: "v3", want: "v1",
		},
		{
			name: "the highest version on a tie",
			crds: []*apiextensionsv1.CustomResourceDefinition{crd("a", "Widget", true, "v1beta1"), crd("b", "Widget", true, "v1")},
			want: "v1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := localVersion(tt.crds, tt.current)
			require.Equal(t, tt.want != "", ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// widgetSchema is the APIResourceSchema s of account p serving widgets.example.com in
// versions, the first stored.
func widgetSchema(versions ...string) *apisv1alpha1.APIResourceSchema {
	s := &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "s-uid", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: "p"}},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: "example.com", Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget"}, Scope: apiextensionsv1.NamespaceScoped,
		},
	}
	for i, v := range versions {
		s.Spec.Versions = append(s.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: true, Storage: i == 0})
	}
	return s
}

// binding is account id's binding of the export of account p with identity hash h, which bound
// widgets.example.com with schema s, once bound.
func binding(id string, bound bool) *apisv1alpha1.APIBinding {
	b := &apisv1alpha1.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: id}},
		Spec:       apisv1alpha1.APIBindingSpec{Reference: apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: "root:p", Name: "db"}}},
		Status: apisv1alpha1.APIBindingStatus{
			ExportClusterID: "p",
			IdentityHash:    "h",
			BoundResources:  []apisv1alpha1.BoundResource{{Group: "example.com", Resource: "widgets", Schema: "s", SchemaUID: "s-uid", StorageVersions: []string{"v1"}}},
		},
	}
	if bound {
		b.Status.Conditions = []metav1.Condition{{Type: apisv1alpha1.BindingConditionInitialBindingCompleted, Status: metav1.ConditionTrue}}
	}
	return b
}

func indexer(t *testing.T, indexers cache.Indexers, objs ...any) cache.Indexer {
	t.Helper()
	if indexers == nil {
		indexers = cache.Indexers{}
	}
	i := cache.NewIndexer(client.ClusterKey, indexers)
	for _, obj := range objs {
		require.NoError(t, i.Add(obj))
	}
	return i
}

func TestSourceStateWatchVersion(t *testing.T) {
	t.Parallel()
	local := sourceKey{gr: schema.GroupResource{Group: "example.com", Resource: "widgets"}}
	bound := sourceKey{gr: local.gr, identityHash: "h"}
	replaced := widgetSchema("v2")
	replaced.UID = "other-uid"
	moved := binding("a", true)
	moved.Status.BoundResources[0].Schema = "s2"
	movedSchema := widgetSchema("v5")
	movedSchema.Name = "s2"
	tests := []struct {
		name                    string
		crds, bindings, schemas []any
		key                     sourceKey
		current                 string
		want                    string
	}{
		{name: "CRDs of the name, across accounts", key: local, crds: []any{crd("a", "Widget", true, "v1"), crd("b", "Widget", true, "v2", "v1")}, want: "v1"},
		{name: "no CRD of the name", key: local, bindings: []any{binding("c", true)}, schemas: []any{widgetSchema("v2", "v1")}},
		{name: "a bound resource, in the version the schema bound stores", key: bound, bindings: []any{binding("c", true)}, schemas: []any{widgetSchema("v2", "v1")}, want: "v2"},
		{
			name: "a bound resource, in the first account's version", key: bound,
			bindings: []any{binding("c", true), moved}, schemas: []any{widgetSchema("v2"), movedSchema}, want: "v5",
		},
		{
			name: "a bound resource, in its version while a binding uses it", key: bound, current: "v2",
			bindings: []any{binding("c", true), moved}, schemas: []any{widgetSchema("v2"), movedSchema}, want: "v2",
		},
		{name: "a binding not bound yet", key: bound, bindings: []any{binding("c", false)}, schemas: []any{widgetSchema("v2")}},
		{name: "another export's resource", key: sourceKey{gr: local.gr, identityHash: "other"}, bindings: []any{binding("c", true)}, schemas: []any{widgetSchema("v2")}},
		// The account keeps serving what it bound, in the last version it stored objects in.
		{name: "the schema is gone", key: bound, bindings: []any{binding("c", true)}, want: "v1"},
		{name: "the schema was replaced under its name", key: bound, bindings: []any{binding("c", true)}, schemas: []any{replaced}, want: "v1"},
		{name: "no binding", key: bound, crds: []any{crd("a", "Widget", true, "v1")}, schemas: []any{widgetSchema("v2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := sourceState{
				crds: indexer(t, crdIndexers, tt.crds...), bindings: indexer(t, bindingIndexers, tt.bindings...), schemas: indexer(t, nil, tt.schemas...),
			}
			got, ok := st.watchVersion(tt.key, tt.current)
			require.Equal(t, tt.want != "", ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSourceStateAccountResource(t *testing.T) {
	t.Parallel()
	gr := schema.GroupResource{Group: "example.com", Resource: "widgets"}
	st := sourceState{
		crds:     indexer(t, crdIndexers, crd("a", "Widget", true, "v1"), crd("b", "Gizmo", false, "v2")),
		bindings: indexer(t, bindingIndexers, binding("c", true), binding("d", false)),
		schemas:  indexer(t, nil, widgetSchema("v3")),
	}
	for _, tt := range []struct {
		id   string
		want Resource
		ok   bool
	}{
		{id: "a", want: widgetsIn("v1", "Widget", true), ok: true},
		// Each account's objects as its own CRD defines them.
		{id: "b", want: widgetsIn("v2", "Gizmo", false), ok: true},
		// Bound, as the binding's schema serves them.
		{id: "c", want: widgetsIn("v3", "Widget", true), ok: true},
		// Not bound yet, or neither defined nor bound: no such objects.
		{id: "d"},
		{id: "e"},
	} {
		got, ok := st.accountResource(tt.id, gr)
		require.Equal(t, tt.ok, ok, tt.id)
		require.Equal(t, tt.want, got, tt.id)
	}
}
