package dynamic

import (
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
)

func TestSynthesizeCRD(t *testing.T) {
	t.Parallel()
	s := &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "v2.databases.db.example.com", UID: "u"},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: "db.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v2", Served: true, Storage: true, Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}}},
			},
		},
	}
	crd := SynthesizeCRD(s, []string{"v1"})
	require.Equal(t, "databases.db.example.com", crd.Name)
	require.Equal(t, s.Spec.Names, crd.Status.AcceptedNames)
	require.Equal(t, []string{"v1", "v2"}, crd.Status.StoredVersions)
	require.Len(t, crd.Spec.Versions, 2)
	v1 := crd.Spec.Versions[1]
	require.Equal(t, "v1", v1.Name)
	require.False(t, v1.Served, "a version the schema dropped is not served")
	require.False(t, v1.Storage)
	require.Same(t, s.Spec.Versions[0].Schema, v1.Schema, "objects stored in it are read with the storage version's schema")
	require.Len(t, s.Spec.Versions, 1, "the schema is not changed")

	e := &Entry{CRD: crd, Binding: &BindingSource{}}
	require.True(t, e.Served())
	require.False(t, e.Terminating())
	e.Binding.Deleting = true
	require.True(t, e.Terminating())

	h1, err := boundIdentity("h1", crd)
	require.NoError(t, err)
	h2, err := boundIdentity("h2", crd)
	require.NoError(t, err)
	require.NotEqual(t, h1, h2, "identical schemas of two exports are served apart")
}
