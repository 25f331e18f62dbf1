package apis

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/names"
)

func TestBind(t *testing.T) {
	t.Parallel()
	secrets := apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: []string{"get"}}
	readyExport := func(claims ...apisv1alpha1.PermissionClaim) *apisv1alpha1.APIExport {
		return &apisv1alpha1.APIExport{
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec: apisv1alpha1.APIExportSpec{
				Resources:        []apisv1alpha1.ExportedResource{{Group: "db.example.com", Name: "databases", Schema: "v1.databases"}},
				PermissionClaims: claims,
			},
			Status: apisv1alpha1.APIExportStatus{IdentityHash: "h1", Conditions: []metav1.Condition{{Type: apisv1alpha1.ExportConditionReady, Status: metav1.ConditionTrue}}},
		}
	}
	schemaV1 := &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "v1.databases", UID: "s1"},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group:    "db.example.com",
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true}},
		},
	}
	for _, tc := range []struct {
		name       string
		export     *apisv1alpha1.APIExport
		status     apisv1alpha1.APIBindingStatus
		answers    []apisv1alpha1.AcceptablePermissionClaim
		owner      *names.Owner
		siblings   []*apiextensionsv1.CustomResourceDefinition
		wantReady  string
		wantReason string
		wantPhase  apisv1alpha1.BindingPhase
		wantClaims string
		wantBound  int
	}{
		{name: "export not found", wantReady: "False", wantReason: apisv1alpha1.BindingReasonExportNotFound, wantPhase: apisv1alpha1.BindingPhaseBinding},
		{name: "export not ready", export: func() *apisv1alpha1.APIExport {
			e := readyExport()
			e.Status.Conditions[0].Status = metav1.ConditionFalse
			return e
		}(), wantReady: "False", wantReason: apisv1alpha1.BindingReasonExportNotReady, wantPhase: apisv1alpha1.BindingPhaseBinding},
		{name: "identity changed", export: readyExport(), status: apisv1alpha1.APIBindingStatus{Phase: apisv1alpha1.BindingPhaseBound, IdentityHash: "h0"},
			wantReady: "False", wantReason: apisv1alpha1.BindingReasonIdentityChanged, wantPhase: apisv1alpha1.BindingPhaseBound},
		{name: "naming conflict", export: readyExport(), owner: &names.Owner{Kind: names.OwnerCRD, Name: "databases.db.example.com"},
			wantReady: "False", wantReason: apisv1alpha1.BindingReasonNamingConflict, wantPhase: apisv1alpha1.BindingPhaseBinding},
		{name: "kind taken by a CRD of the group", export: readyExport(), siblings: []*apiextensionsv1.CustomResourceDefinition{{
			ObjectMeta: metav1.ObjectMeta{Name: "dbs.db.example.com", Annotations: map[string]string{"accountmesh.io/cluster": "consumer"}},
			Status:     apiextensionsv1.CustomResourceDefinitionStatus{AcceptedNames: apiextensionsv1.CustomResourceDefinitionNames{Plural: "dbs", Kind: "Database"}},
		}}, wantReady: "False", wantReason: apisv1alpha1.BindingReasonNamingConflict, wantPhase: apisv1alpha1.BindingPhaseBinding},
		{name: "bound without claims", export: readyExport(), wantReady: "True", wantReason: apisv1alpha1.BindingReasonBound,
			wantPhase: apisv1alpha1.BindingPhaseBound, wantClaims: "Answered", wantBound: 1},
		{name: "claim unanswered", export: readyExport(secrets), wantReady: "True", wantReason: apisv1alpha1.BindingReasonBound,
			wantPhase: apisv1alpha1.BindingPhaseBound, wantClaims: apisv1alpha1.BindingReasonClaimsNotAccepted, wantBound: 1},
		{name: "claim accepted", export: readyExport(secrets), answers: []apisv1alpha1.AcceptablePermissionClaim{{PermissionClaim: secrets, State: apisv1alpha1.ClaimAccepted}},
			wantReady: "True", wantReason: apisv1alpha1.BindingReasonBound, wantPhase: apisv1alpha1.BindingPhaseBound, wantClaims: "Answered", wantBound: 1},
		{name: "claim changed since accepted", export: readyExport(apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: []string{"get", "delete"}}),
			answers:   []apisv1alpha1.AcceptablePermissionClaim{{PermissionClaim: secrets, State: apisv1alpha1.ClaimAccepted}},
			wantReady: "True", wantReason: apisv1alpha1.BindingReasonBound, wantPhase: apisv1alpha1.BindingPhaseBound, wantClaims: apisv1alpha1.BindingReasonClaimChanged, wantBound: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &bindingReconciler{
				resolve: func(string) (cluster.ID, bool) { return "provider", true },
				pathOf:  func(cluster.ID) string { return "root:consumer" },
				export: func(cluster.ID, string) (*apisv1alpha1.APIExport, bool) {
					return tc.export, tc.export != nil
				},
				schema: func(_ cluster.ID, name string) (*apisv1alpha1.APIResourceSchema, bool) {
					return schemaV1, name == schemaV1.Name
				},
				claim: func(_ cluster.ID, _ schema.GroupResource, o names.Owner) (names.Owner, bool) {
					if tc.owner != nil {
						return *tc.owner, false
					}
					return o, true
				},
				release: func(cluster.ID, schema.GroupResource, names.Owner) {},
				siblings: func(cluster.ID, string, string) []*apiextensionsv1.CustomResourceDefinition {
					return tc.siblings
				},
			}
			var written *apisv1alpha1.APIBinding
			r.updateStatus = func(_ context.Context, _ cluster.ID, b *apisv1alpha1.APIBinding) error {
				written = b
				return nil
			}
			b := &apisv1alpha1.APIBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "db"},
				Spec: apisv1alpha1.APIBindingSpec{
					Reference:        apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: "root:provider", Name: "db"}},
					PermissionClaims: tc.answers,
				},
				Status: tc.status,
			}
			require.NoError(t, r.reconcile(t.Context(), "consumer", b))
			require.NotNil(t, written)
			ready := meta.FindStatusCondition(written.Status.Conditions, apisv1alpha1.BindingConditionReady)
			require.NotNil(t, ready)
			require.Equal(t, tc.wantReady, string(ready.Status), ready.Message)
			require.Equal(t, tc.wantReason, ready.Reason, ready.Message)
			require.Equal(t, tc.wantPhase, written.Status.Phase)
			require.Len(t, written.Status.BoundResources, tc.wantBound)
			if tc.wantClaims != "" {
				require.Equal(t, tc.wantClaims, meta.FindStatusCondition(written.Status.Conditions, apisv1alpha1.BindingConditionPermissionClaimsAccepted).Reason)
				require.Equal(t, tc.wantClaims == "Answered" && len(tc.answers) > 0, len(written.Status.AppliedPermissionClaims) == 1, "applied claims")
			}
			if tc.wantBound > 0 {
				require.Equal(t, apisv1alpha1.BoundResource{Group: "db.example.com", Resource: "databases", Schema: "v1.databases", SchemaUID: "s1", StorageVersions: []string{"v1"}},
					written.Status.BoundResources[0])
				require.Equal(t, "provider", written.Status.ExportClusterID)
			}
			// A second pass over the written status changes nothing.
			written2 := written
			written = nil
			require.NoError(t, r.reconcile(t.Context(), "consumer", written2))
			require.Nil(t, written, "reconciling again writes nothing")
		})
	}
}

// TestBindWaitsForTheExportController checks that a binding does not act on an export whose
// status was written for an older spec: the export controller must judge a new schema first.
func TestBindWaitsForTheExportController(t *testing.T) {
	t.Parallel()
	export := &apisv1alpha1.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 2},
		Status: apisv1alpha1.APIExportStatus{IdentityHash: "h1", Conditions: []metav1.Condition{
			{Type: apisv1alpha1.ExportConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 1},
		}},
	}
	r := &bindingReconciler{
		resolve: func(string) (cluster.ID, bool) { return "provider", true },
		pathOf:  func(cluster.ID) string { return "root:consumer" },
		export:  func(cluster.ID, string) (*apisv1alpha1.APIExport, bool) { return export, true },
		updateStatus: func(context.Context, cluster.ID, *apisv1alpha1.APIBinding) error {
			t.Fatal("the binding was written before the export controller judged the export")
			return nil
		},
	}
	b := &apisv1alpha1.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       apisv1alpha1.APIBindingSpec{Reference: apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: "root:provider", Name: "db"}}},
	}
	require.NoError(t, r.reconcile(t.Context(), "consumer", b))
}

func TestExportSchemas(t *testing.T) {
	t.Parallel()
	schemaOf := func(name, kind string, scope apiextensionsv1.ResourceScope) *apisv1alpha1.APIResourceSchema {
		return &apisv1alpha1.APIResourceSchema{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: "db.example.com", Scope: scope, Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "databases", Kind: kind},
		}}
	}
	schemas := map[string]*apisv1alpha1.APIResourceSchema{
		"v1":      schemaOf("v1", "Database", apiextensionsv1.NamespaceScoped),
		"v2":      schemaOf("v2", "Database", apiextensionsv1.NamespaceScoped),
		"cluster": schemaOf("cluster", "Database", apiextensionsv1.ClusterScoped),
		"kind":    schemaOf("kind", "DB", apiextensionsv1.NamespaceScoped),
		"other":   {ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: apisv1alpha1.APIResourceSchemaSpec{Group: "db.example.com", Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "caches"}}},
	}
	r := &exportReconciler{
		schema: func(_ cluster.ID, name string) (*apisv1alpha1.APIResourceSchema, bool) {
			s, ok := schemas[name]
			return s, ok
		},
		boundSchemas: func(cluster.ID, string, schema.GroupResource) []string { return []string{"v1"} },
	}
	for _, tc := range []struct{ schema, reason, message string }{
		{"v1", "Valid", "all schemas found"},
		{"v2", "Valid", "all schemas found"},
		{"missing", apisv1alpha1.ExportReasonSchemaNotFound, `APIResourceSchema "missing" not found in this account`},
		{"other", apisv1alpha1.ExportReasonSchemaMismatch, `schema "other" defines caches.db.example.com, not databases.db.example.com`},
		{"cluster", apisv1alpha1.ExportReasonIncompatibleSchemaChange, `schema "cluster" changes the scope from Namespaced to Cluster`},
		{"kind", apisv1alpha1.ExportReasonIncompatibleSchemaChange, `schema "kind" changes the kind from Database to DB`},
	} {
		e := &apisv1alpha1.APIExport{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: apisv1alpha1.APIExportSpec{
			Resources: []apisv1alpha1.ExportedResource{{Group: "db.example.com", Name: "databases", Schema: tc.schema}},
		}}
		c := r.checkSchemas("p", e)
		require.Equal(t, tc.reason, c.Reason, tc.schema)
		require.Contains(t, c.Message, tc.message, tc.schema)
	}
}
