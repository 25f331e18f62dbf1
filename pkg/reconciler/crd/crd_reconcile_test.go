package crd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func names(plural, singular, kind string, short ...string) apiextensionsv1.CustomResourceDefinitionNames {
	return apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: singular, Kind: kind, ListKind: kind + "List", ShortNames: short}
}

func crdWith(accepted apiextensionsv1.CustomResourceDefinitionNames) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{Status: apiextensionsv1.CustomResourceDefinitionStatus{AcceptedNames: accepted}}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	taken := []*apiextensionsv1.CustomResourceDefinition{crdWith(names("widgets", "widget", "Widget", "wg"))}
	for _, tc := range []struct {
		name      string
		requested apiextensionsv1.CustomResourceDefinitionNames
		siblings  []*apiextensionsv1.CustomResourceDefinition
		want      string
	}{
		{name: "no siblings", requested: names("widgets", "widget", "Widget")},
		{name: "distinct names", requested: names("gadgets", "gadget", "Gadget", "gd"), siblings: taken},
		{name: "plural", requested: names("widgets", "gadget", "Gadget"), siblings: taken, want: "PluralConflict"},
		{name: "singular", requested: names("gadgets", "widget", "Gadget"), siblings: taken, want: "SingularConflict"},
		{name: "short name", requested: names("gadgets", "gadget", "Gadget", "gd", "wg"), siblings: taken, want: "ShortNamesConflict"},
		{name: "kind", requested: names("gadgets", "gadget", "Widget"), siblings: taken, want: "KindConflict"},
		{name: "kind against a list kind", requested: names("gadgets", "gadget", "WidgetList"), siblings: taken, want: "KindConflict"},
		{name: "list kind", requested: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget", ListKind: "Widget"}, siblings: taken, want: "ListKindConflict"},
		{name: "plural before kind", requested: names("widgets", "gadget", "Widget"), siblings: taken, want: "PluralConflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reason, msg := CheckNames(tc.requested, tc.siblings)
			require.Equal(t, tc.want, reason)
			if tc.want != "" {
				require.Contains(t, msg, "already in use")
			}
		})
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	now := metav1.NewTime(time.Now())
	established := func(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
		apiextensionshelpers.SetCRDCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue})
		return crd
	}
	deleted := func(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
		crd.DeletionTimestamp = &now
		crd.Finalizers = []string{apiextensionsv1.CustomResourceCleanupFinalizer}
		return crd
	}
	newCRD := func() *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
			Spec:       apiextensionsv1.CustomResourceDefinitionSpec{Group: "example.com", Names: names("widgets", "widget", "Widget")},
		}
	}
	webhook := newCRD()
	webhook.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter}
	for _, tc := range []struct {
		name          string
		crd           *apiextensionsv1.CustomResourceDefinition
		served        bool
		remaining     int
		wantCondition map[apiextensionsv1.CustomResourceDefinitionConditionType]string
		wantFinalizer bool
		wantWaiting   bool
	}{
		{
			name: "new CRD not served yet", crd: newCRD(),
			wantCondition: map[apiextensionsv1.CustomResourceDefinitionConditionType]string{apiextensionsv1.NamesAccepted: "NoConflicts", apiextensionsv1.Established: "Installing"},
		},
		{
			name: "served CRD is established", crd: newCRD(), served: true,
			wantCondition: map[apiextensionsv1.CustomResourceDefinitionConditionType]string{apiextensionsv1.Established: "InitialNamesAccepted"},
		},
		{
			name: "webhook conversion is never established", crd: webhook, served: true,
			wantCondition: map[apiextensionsv1.CustomResourceDefinitionConditionType]string{apiextensionsv1.Established: ReasonConversionWebhookNotSupported},
		},
		{
			name: "deleted with instances left", crd: deleted(established(newCRD())), remaining: 2, wantFinalizer: true, wantWaiting: true,
			wantCondition: map[apiextensionsv1.CustomResourceDefinitionConditionType]string{apiextensionsv1.Terminating: "InstanceDeletionInProgress"},
		},
		{
			name: "deleted and empty", crd: deleted(established(newCRD())),
			wantCondition: map[apiextensionsv1.CustomResourceDefinitionConditionType]string{apiextensionsv1.Terminating: "InstanceDeletionCompleted"},
		},
		{
			name: "deleted, never established", crd: deleted(newCRD()),
			wantCondition: map[apiextensionsv1.CustomResourceDefinitionConditionType]string{apiextensionsv1.Terminating: "NeverEstablished"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var written *apiextensionsv1.CustomResourceDefinition
			r := &reconciler{
				siblings: func(string, *apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
					return nil
				},
				served: func(string, *apiextensionsv1.CustomResourceDefinition) bool { return tc.served },
				claim:  func(string, *apiextensionsv1.CustomResourceDefinition) (string, bool) { return "", true },
				bound: func(string, *apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
					return nil
				},
				remaining: func(context.Context, string, *apiextensionsv1.CustomResourceDefinition) (int, error) {
					return tc.remaining, nil
				},
				updateStatus: func(_ context.Context, _ string, crd *apiextensionsv1.CustomResourceDefinition) error {
					written = crd
					return nil
				},
			}
			err := r.reconcile(t.Context(), "c1", tc.crd)
			var waiting errWaiting
			require.Equal(t, tc.wantWaiting, errors.As(err, &waiting), "err %v", err)
			require.NotNil(t, written)
			for typ, reason := range tc.wantCondition {
				c := apiextensionshelpers.FindCRDCondition(written, typ)
				require.NotNil(t, c, "condition %s", typ)
				require.Equal(t, reason, c.Reason, "condition %s", typ)
			}
			require.Equal(t, tc.wantFinalizer, apiextensionshelpers.CRDHasFinalizer(written, apiextensionsv1.CustomResourceCleanupFinalizer))
			if tc.crd.DeletionTimestamp == nil && !tc.wantWaiting {
				// A second pass over the written object writes nothing.
				written2 := written
				written = nil
				require.NoError(t, r.reconcile(t.Context(), "c1", written2))
				require.Nil(t, written, "no-op reconcile wrote the status")
			}
		})
	}
}
