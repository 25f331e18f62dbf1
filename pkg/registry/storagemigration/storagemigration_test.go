package storagemigration

import (
	"testing"

	"github.com/stretchr/testify/require"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		resource  metav1.GroupResource
		wantField string
	}{
		{"core", metav1.GroupResource{Resource: "configmaps"}, ""},
		{"group", metav1.GroupResource{Group: "example.com", Resource: "widgets"}, ""},
		{"no resource", metav1.GroupResource{Group: "example.com"}, "spec.resource.resource"},
		{"resource not a label", metav1.GroupResource{Resource: "Widgets.v1"}, "spec.resource.resource"},
		{"bad group", metav1.GroupResource{Group: "Example_com", Resource: "widgets"}, "spec.resource.group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := validateSpec(&storagemigrationv1.StorageVersionMigrationSpec{Resource: tc.resource})
			if tc.wantField == "" {
				require.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			require.Equal(t, tc.wantField, errs[0].Field)
		})
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	t.Parallel()
	cond := func(t storagemigrationv1.MigrationConditionType, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: string(t), Status: s, Reason: "Test", LastTransitionTime: metav1.Now()}
	}
	status := func(rv string, conds ...metav1.Condition) *storagemigrationv1.StorageVersionMigrationStatus {
		return &storagemigrationv1.StorageVersionMigrationStatus{ResourceVersion: rv, Conditions: conds}
	}
	succeeded := cond(storagemigrationv1.MigrationSucceeded, metav1.ConditionTrue)
	failed := cond(storagemigrationv1.MigrationFailed, metav1.ConditionTrue)
	for _, tc := range []struct {
		name        string
		status, old *storagemigrationv1.StorageVersionMigrationStatus
		wantErr     string
	}{
		{"set resource version", status("42"), status(""), ""},
		{"resource version not a number", status("abc"), status(""), "non-negative integer"},
		{"resource version changed", status("43"), status("42"), "immutable"},
		{"succeeds", status("42", succeeded), status("42"), ""},
		{"both outcomes", status("42", succeeded, failed), status("42"), "cannot both be true"},
		{"success withdrawn", status("42", cond(storagemigrationv1.MigrationSucceeded, metav1.ConditionFalse)), status("42", succeeded), "Succeeded cannot turn false"},
		{"failure dropped", status("42"), status("42", failed), "Failed cannot turn false"},
		{"other conditions", status("", cond("TestCondition", metav1.ConditionTrue)), status(""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := validateStatusUpdate(tc.status, tc.old)
			if tc.wantErr == "" {
				require.Empty(t, errs)
				return
			}
			require.ErrorContains(t, errs.ToAggregate(), tc.wantErr)
		})
	}
}
