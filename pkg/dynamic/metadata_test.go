package dynamic

import (
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// widgetCRD is account id's CRD of widgets.example.com with the given versions (the first is
// the storage version) and a required property in its schema, so that accounts differ.
func widgetCRD(id, property string, versions ...string) *apiextensionsv1.CustomResourceDefinition {
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: id}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
		},
	}
	crd.Status.AcceptedNames = crd.Spec.Names
	for i, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: i == 0,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object", Required: []string{property},
				Properties: map[string]apiextensionsv1.JSONSchemaProps{property: {Type: "string"}},
			}},
		})
	}
	return crd
}

func TestMetadataIdentity(t *testing.T) {
	t.Parallel()
	x := NewIndex(Config{})
	const name = "widgets.example.com"
	local := metadataKey{name: name}
	identities := func() []string {
		x.mu.RLock()
		defer x.mu.RUnlock()
		hashes, _ := x.metadataIdentitiesLocked(local)
		return hashes
	}
	require.Nil(t, x.metadataIdentity(local), "no account defines it")

	x.set(widgetCRD("a", "size", "v1"))
	require.Len(t, identities(), 1)
	require.Nil(t, x.metadataIdentity(local), "one identity serves its own metadata")

	old := widgetCRD("b", "color", "v1beta1", "v1")
	old.Spec.Versions[1].Served = false
	old.Status.StoredVersions = []string{"v1alpha1", "v1beta1"}
	x.set(old)
	require.Len(t, x.Identities(name), 2, "the accounts define it differently")

	i := x.metadataIdentity(local)
	require.NotNil(t, i)
	require.Equal(t, "example.com/widgets", i.prefix)
	require.Equal(t, []apiextensionsv1.CustomResourceDefinitionVersion{
		{Name: "v1", Served: true, Storage: true},
		{Name: "v1alpha1", Served: true},
		{Name: "v1beta1", Served: true},
	}, withoutSchemas(i.crd.Spec.Versions), "every version of every local CRD, also those only stored in: metadata has no version")
	require.Same(t, i, x.metadataIdentity(local), "built once while the CRDs keep their versions")

	// Objects of either schema, stored in any of their versions, read in any served version:
	// the metadata identity has no schema to refuse them with.
	schemas, err := newCRDSchemas(i.crd)
	require.NoError(t, err)
	for _, stored := range []string{"v1", "v1alpha1", "v1beta1"} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/" + stored, "kind": "Widget",
			"metadata": map[string]any{"name": "w", "namespace": "ns", "ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u"}}},
			"spec":     map[string]any{"anything": "kept"},
		}}
		out, err := schemas.readStored(u, schema.GroupVersion{Group: "example.com", Version: "v1"})
		require.NoError(t, err, stored)
		require.Equal(t, "example.com/v1", out.GetAPIVersion())
		require.Len(t, out.GetOwnerReferences(), 1)
	}

	require.True(t, x.metadataMember(local)("a"))
	require.True(t, x.metadataMember(local)("b"))
	require.False(t, x.metadataMember(local)("c"), "an account without the CRD shows nothing")
	require.False(t, x.metadataMember(metadataKey{name: name, identityHash: "h"})("a"), "nor does a CRD show as bound")

	// A new version elsewhere changes the synthesized CRD: the next request builds it again.
	x.set(widgetCRD("c", "size", "v2"))
	require.NotContains(t, x.metadata, name, "the outdated identity is torn down")
	again := x.metadataIdentity(local)
	require.NotSame(t, i, again)
	require.Len(t, again.crd.Spec.Versions, 4)

	// Another account with a schema already known changes nothing.
	x.set(widgetCRD("d", "size", "v2"))
	require.Same(t, again, x.metadataIdentity(local))

	for _, id := range []string{"a", "b", "c"} {
		x.remove(widgetCRD(id, "", "v1"))
	}
	require.NotContains(t, x.metadata, name, "one identity left: it serves the metadata again")
	require.Nil(t, x.metadataIdentity(local))
	require.Len(t, identities(), 1)
	x.remove(widgetCRD("d", "", "v1"))
	require.Empty(t, identities())
	require.Empty(t, x.byName)
}

func TestMetadataIdentityOfBoundResources(t *testing.T) {
	t.Parallel()
	x := NewIndex(Config{})
	const name = "widgets.example.com"
	bound := func(schemaVersion string, stored ...string) *apiextensionsv1.CustomResourceDefinition {
		crd := widgetCRD("", "size", schemaVersion)
		crd.Annotations = nil
		crd.Status.StoredVersions = stored
		return crd
	}
	x.mu.Lock()
	// Two consumers bound to the export with hash h, on two generations of its schema; a view
	// identity without members; another export's consumer; a local CRD.
	x.join("h-v2", bound("v2", "v1", "v2"), "example.com/widgets:h", "consumer-1")
	x.join("h-v1", bound("v1", "v1"), "example.com/widgets:h", "consumer-2")
	x.addIdentityLocked("h-view", bound("v3"), "example.com/widgets:h")
	x.join("other", bound("v9"), "example.com/widgets:other", "consumer-3")
	x.mu.Unlock()
	x.set(widgetCRD("local", "size", "v5"))

	i := x.metadataIdentity(metadataKey{name: name, identityHash: "h"})
	require.NotNil(t, i)
	require.Equal(t, "example.com/widgets:h", i.prefix, "the export's storage")
	require.Equal(t, []apiextensionsv1.CustomResourceDefinitionVersion{
		{Name: "v1", Served: true, Storage: true},
		{Name: "v2", Served: true},
	}, withoutSchemas(i.crd.Spec.Versions), "the versions of the accounts bound to the export")
	require.Nil(t, x.metadataIdentity(metadataKey{name: name, identityHash: "absent"}))
	x.mu.RLock()
	defer x.mu.RUnlock()
	hashes, prefix := x.metadataIdentitiesLocked(metadataKey{name: name})
	require.Len(t, hashes, 1, "local CRDs only")
	require.Equal(t, "example.com/widgets", prefix)
	hashes, _ = x.metadataIdentitiesLocked(metadataKey{name: name, identityHash: "other"})
	require.Equal(t, []string{"other"}, hashes)
}

func TestNewIdentityEndsSiblingWildcardWatches(t *testing.T) {
	t.Parallel()
	x := NewIndex(Config{})
	x.set(widgetCRD("a", "size", "v1"))
	x.mu.Lock()
	first := x.identities[x.accounts["a"]["widgets.example.com"].Identity]
	s := &serving{watches: &watches{}}
	first.built.Store(s)
	x.mu.Unlock()
	wildcard, inAccount := watch.NewFake(), watch.NewFake()
	s.watches.track(cluster.Wildcard, wildcard)
	s.watches.track("a", inAccount)

	x.set(widgetCRD("other", "size", "v1"))
	require.False(t, wildcard.IsStopped(), "another account with the same schema changes nothing")
	x.set(widgetCRD("b", "color", "v1"))
	require.True(t, wildcard.IsStopped(), "a wildcard watch served by the first identity alone ends")
	require.False(t, inAccount.IsStopped(), "the account's own watch goes on")
}

func withoutSchemas(versions []apiextensionsv1.CustomResourceDefinitionVersion) []apiextensionsv1.CustomResourceDefinitionVersion {
	out := make([]apiextensionsv1.CustomResourceDefinitionVersion, 0, len(versions))
	for _, v := range versions {
		v.Schema = nil
		out = append(out, v)
	}
	return out
}
