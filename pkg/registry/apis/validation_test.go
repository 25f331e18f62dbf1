package apis

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	generatedopenapi "github.com/accountmesh/accountmesh/pkg/generated/openapi"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

func testSchema(mutate func(*apisv1alpha1.APIResourceSchemaSpec)) *apisv1alpha1.APIResourceSchema {
	s := &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "v1.databases.db.example.com"},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: "db.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"engine": {Type: "string"}}},
					},
				}},
			}},
		},
	}
	if mutate != nil {
		mutate(&s.Spec)
	}
	return s
}

func TestValidateAPIResourceSchema(t *testing.T) {
	t.Parallel()
	builtin := []string{"apis.accountmesh.io", "rbac.authorization.k8s.io"}
	for _, tc := range []struct {
		name   string
		mutate func(*apisv1alpha1.APIResourceSchemaSpec)
		want   []string
	}{
		{name: "valid"},
		{name: "built-in group", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) { s.Group = "rbac.authorization.k8s.io" },
			want: []string{"spec.group: Invalid value: \"rbac.authorization.k8s.io\": the group is served by Account Mesh itself; built-in groups (apis.accountmesh.io, rbac.authorization.k8s.io) cannot be extended"}},
		{name: "untyped property, one version", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) {
			s.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["engine"] = apiextensionsv1.JSONSchemaProps{}
		}, want: []string{"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[engine].type: Required value: must not be empty for specified object fields"}},
		{name: "untyped property, two versions", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) {
			s.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["engine"] = apiextensionsv1.JSONSchemaProps{}
			v2 := *s.Versions[0].DeepCopy()
			v2.Name, v2.Storage = "v2", false
			s.Versions = append(s.Versions, v2)
		}, want: []string{"spec.versions[*].schema.openAPIV3Schema.properties[spec].properties[engine].type: Required value"}},
		{name: "no storage version", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) { s.Versions[0].Storage = false },
			want: []string{"must have exactly one version marked as storage version"}},
		{name: "bad kind", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) { s.Names.Kind = "" },
			want: []string{"spec.names.kind: Required value"}},
		{name: "group without a dot", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) { s.Group = "db" },
			want: []string{"spec.group: Invalid value: \"db\": should be a domain with at least one dot"}},
		{name: "protected group", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) { s.Group = "db.k8s.io" },
			want: []string{"protected groups must have approval annotation"}},
		{name: "CEL rule that does not compile", mutate: func(s *apisv1alpha1.APIResourceSchemaSpec) {
			spec := s.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
			spec.XValidations = apiextensionsv1.ValidationRules{{Rule: "self.nope =="}}
			s.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		}, want: []string{"x-kubernetes-validations[0].rule: Invalid value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := validateAPIResourceSchema(t.Context(), testSchema(tc.mutate), builtin)
			if len(tc.want) == 0 {
				require.Empty(t, errs)
				return
			}
			for _, w := range tc.want {
				require.ErrorContains(t, errs.ToAggregate(), w)
			}
			for _, e := range errs {
				require.NotContains(t, e.Field, "metadata.name", "the made-up CRD name is not the schema's")
				require.NotContains(t, e.Field, "status", "the made-up CRD status is not the schema's")
			}
		})
	}
}

// TestSchemaImmutable checks the CEL marker of the schema's spec through the registry's
// validator, down to a change deep inside an OpenAPI schema.
func TestSchemaImmutable(t *testing.T) {
	t.Parallel()
	opts, err := apiResourceSchemaOptions(scheme.Scheme, Deps{Definitions: generatedopenapi.Definitions})
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		mutate func(*apisv1alpha1.APIResourceSchema)
		want   string
	}{
		{name: "unchanged"},
		{name: "labels", mutate: func(s *apisv1alpha1.APIResourceSchema) { s.Labels = map[string]string{"a": "b"} }},
		{name: "group", mutate: func(s *apisv1alpha1.APIResourceSchema) { s.Spec.Group = "other.example.com" },
			want: "spec: Invalid value: spec is immutable; create a new APIResourceSchema"},
		{name: "deep in the OpenAPI schema", mutate: func(s *apisv1alpha1.APIResourceSchema) {
			s.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["engine"] = apiextensionsv1.JSONSchemaProps{Type: "integer"}
		}, want: "spec is immutable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			obj := testSchema(nil)
			if tc.mutate != nil {
				tc.mutate(obj)
			}
			errs := opts.ValidateUpdate(t.Context(), obj, testSchema(nil))
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.ErrorContains(t, errs.ToAggregate(), tc.want)
		})
	}
}

func TestValidateAPIExportSpec(t *testing.T) {
	t.Parallel()
	valid := func() apisv1alpha1.APIExportSpec {
		return apisv1alpha1.APIExportSpec{
			Resources: []apisv1alpha1.ExportedResource{{Group: "db.example.com", Name: "databases", Schema: "v1.databases.db.example.com"}},
			Identity:  &apisv1alpha1.Identity{SecretRef: &corev1.SecretReference{Namespace: "default", Name: "db-identity"}},
			PermissionClaims: []apisv1alpha1.PermissionClaim{
				{Resource: "secrets", Verbs: []string{"get", "create"}, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"db": "x"}}},
				{Group: "other.example.com", Resource: "widgets", IdentityHash: "abc", Verbs: []string{"*"}},
			},
			Catalog: &apisv1alpha1.Catalog{DisplayName: "Databases", Categories: []string{"data"}, IconURL: "data:image/png;base64,AA==", DocumentationURL: "https://example.com/docs"},
			Service: &apisv1alpha1.ServiceSpec{Model: apisv1alpha1.ServiceModelShared, RelatedResources: []apisv1alpha1.RelatedResource{{Resource: "configmaps"}}},
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*apisv1alpha1.APIExportSpec)
		want   string
	}{
		{name: "valid"},
		{name: "no resources", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Resources = nil }, want: "spec.resources: Required value"},
		{name: "core group", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Resources[0].Group = "" }, want: "spec.resources[0].group: Invalid value"},
		{name: "group without a dot", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Resources[0].Group = "db" }, want: "must contain a dot"},
		{name: "built-in group", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.Resources[0].Group, s.Resources[0].Name = "rbac.authorization.k8s.io", "clusterrolebindings"
		}, want: "spec.resources[0].group: Invalid value: \"rbac.authorization.k8s.io\": the group is served by Account Mesh itself"},
		{name: "platform group not served yet", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Resources[0].Group = "marketplace.accountmesh.io" },
			want: "the group is served by Account Mesh itself"},
		{name: "duplicate resource", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Resources = append(s.Resources, s.Resources[0]) },
			want: "spec.resources[1]: Duplicate value"},
		{name: "bad schema name", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Resources[0].Schema = "Bad_Name" }, want: "spec.resources[0].schema: Invalid value"},
		{name: "secret ref without name", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Identity.SecretRef.Name = "" }, want: "spec.identity.secretRef.name: Invalid value"},
		{name: "claim on RBAC", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.PermissionClaims[0] = apisv1alpha1.PermissionClaim{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings", Verbs: []string{"get"}}
		}, want: "spec.permissionClaims[0].resource: Unsupported value: \"clusterrolebindings.rbac.authorization.k8s.io\""},
		{name: "claim on accounts", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.PermissionClaims[0] = apisv1alpha1.PermissionClaim{Group: "core.accountmesh.io", Resource: "accounts", Verbs: []string{"get"}}
		}, want: "Unsupported value"},
		{name: "claim with hash in the core group", mutate: func(s *apisv1alpha1.APIExportSpec) { s.PermissionClaims[1].Group = "" },
			want: "spec.permissionClaims[1].group: Invalid value"},
		{name: "unknown verb", mutate: func(s *apisv1alpha1.APIExportSpec) { s.PermissionClaims[0].Verbs = []string{"escalate"} },
			want: "spec.permissionClaims[0].verbs[0]: Unsupported value: \"escalate\""},
		{name: "no verbs", mutate: func(s *apisv1alpha1.APIExportSpec) { s.PermissionClaims[0].Verbs = nil }, want: "spec.permissionClaims[0].verbs: Required value"},
		{name: "bad selector", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.PermissionClaims[0].Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}
		}, want: "spec.permissionClaims[0].selector: Invalid value"},
		{name: "duplicate claim", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.PermissionClaims = append(s.PermissionClaims, s.PermissionClaims[0])
		}, want: "spec.permissionClaims[2]: Duplicate value"},
		{name: "http documentation", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Catalog.DocumentationURL = "http://example.com" },
			want: "spec.catalog.documentationURL: Invalid value"},
		{name: "javascript icon", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Catalog.IconURL = "javascript:alert(1)" },
			want: "spec.catalog.iconURL: Invalid value"},
		{name: "bad category", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Catalog.Categories = []string{"Data Bases"} },
			want: "spec.catalog.categories[0]: Invalid value"},
		{name: "no service model", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Service.Model = "" },
			want: `spec.service.model: Unsupported value: ""`},
		{name: "related RBAC", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.Service.RelatedResources[0] = apisv1alpha1.RelatedResource{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}
		}, want: "spec.service.relatedResources[0].resource: Unsupported value"},
		{name: "related and claimed", mutate: func(s *apisv1alpha1.APIExportSpec) { s.Service.RelatedResources[0].Resource = "secrets" },
			want: "cannot also be a permission claim"},
		{name: "duplicate related resource", mutate: func(s *apisv1alpha1.APIExportSpec) {
			s.Service.RelatedResources = append(s.Service.RelatedResources, s.Service.RelatedResources[0])
		}, want: "spec.service.relatedResources[1]: Duplicate value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := valid()
			if tc.mutate != nil {
				tc.mutate(&spec)
			}
			errs := validateAPIExportSpec(&spec, specPath, []string{"rbac.authorization.k8s.io", "core.accountmesh.io"})
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.ErrorContains(t, errs.ToAggregate(), tc.want)
		})
	}
}

func TestValidateAPIBindingSpec(t *testing.T) {
	t.Parallel()
	claim := apisv1alpha1.AcceptablePermissionClaim{
		PermissionClaim: apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: []string{"get"}},
		State:           apisv1alpha1.ClaimAccepted,
	}
	for _, tc := range []struct {
		name string
		spec apisv1alpha1.APIBindingSpec
		want string
	}{
		{name: "valid", spec: apisv1alpha1.APIBindingSpec{
			Reference:        apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: "root:prov", Name: "db"}},
			PermissionClaims: []apisv1alpha1.AcceptablePermissionClaim{claim},
		}},
		{name: "no export", want: "spec.reference.export: Required value"},
		{name: "no name", spec: apisv1alpha1.APIBindingSpec{Reference: apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: "root"}}},
			want: "spec.reference.export.name: Required value"},
		{name: "bad state", spec: apisv1alpha1.APIBindingSpec{
			Reference:        apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Name: "db"}},
			PermissionClaims: []apisv1alpha1.AcceptablePermissionClaim{{PermissionClaim: claim.PermissionClaim, State: "Maybe"}},
		}, want: "spec.permissionClaims[0].state: Unsupported value: \"Maybe\""},
		{name: "duplicate answer", spec: apisv1alpha1.APIBindingSpec{
			Reference:        apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Name: "db"}},
			PermissionClaims: []apisv1alpha1.AcceptablePermissionClaim{claim, claim},
		}, want: "spec.permissionClaims[1]: Duplicate value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := validateAPIBindingSpec(&tc.spec, specPath)
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.ErrorContains(t, errs.ToAggregate(), tc.want)
		})
	}
}

var specPath = field.NewPath("spec")
