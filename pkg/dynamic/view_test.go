package dynamic

import (
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

func viewSchema(uid, version string) *apisv1alpha1.APIResourceSchema {
	return &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: version + ".things.g.io", UID: types.UID(uid)},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: "g.io", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Singular: "thing", Kind: "Thing", ListKind: "ThingList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}}}},
		},
	}
}

func TestViewIdentity(t *testing.T) {
	t.Parallel()
	gr := schema.GroupResource{Group: "g.io", Resource: "things"}
	v1, v2 := viewSchema("uid-1", "v1"), viewSchema("uid-2", "v2")
	member := func(x *Index, s *apisv1alpha1.APIResourceSchema, stored []string, exportHash string, id cluster.ID) string {
		crd := SynthesizeCRD(s, stored)
		hash, err := boundIdentity(exportHash, crd)
		require.NoError(t, err)
		x.join(hash, crd, amstorage.BoundResourcePrefix(gr, exportHash), id)
		return hash
	}
	t.Run("an up-to-date consumer's identity", func(t *testing.T) {
		t.Parallel()
		x := NewIndex(Config{})
		member(x, v1, []string{"v1"}, "h", "a")
		current := member(x, v2, []string{"v1", "v2"}, "h", "b")
		member(x, v2, []string{"v3"}, "other", "c")
		i, err := x.viewIdentity("h", gr, v2)
		require.NoError(t, err)
		require.Equal(t, current, i.hash)
	})
	t.Run("no consumer up to date: every stored version, without members", func(t *testing.T) {
		t.Parallel()
		x := NewIndex(Config{})
		member(x, v1, []string{"v1"}, "h", "a")
		i, err := x.viewIdentity("h", gr, v2)
		require.NoError(t, err)
		require.Empty(t, i.members)
		require.Equal(t, []string{"v1", "v2"}, i.crd.Status.StoredVersions)
		again, err := x.viewIdentity("h", gr, v2)
		require.NoError(t, err)
		require.Same(t, i, again)

		x.ForgetExport("h")
		x.mu.RLock()
		defer x.mu.RUnlock()
		require.NotContains(t, x.identities, i.hash, "unused view identities go with the export")
		require.Len(t, x.identities, 1, "consumers' identities stay")
	})
}
