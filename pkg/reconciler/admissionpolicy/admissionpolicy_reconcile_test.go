package admissionpolicy

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	warning := admissionregistrationv1.ExpressionWarning{FieldRef: "spec.validations[0].expression", Warning: "no such key"}
	checked := &admissionregistrationv1.TypeChecking{ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{warning}}
	for _, tc := range []struct {
		name      string
		status    admissionregistrationv1.ValidatingAdmissionPolicyStatus
		updateErr error
		wantWrite bool
		wantErr   bool
	}{
		{name: "new policy", wantWrite: true},
		{name: "older generation", status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{ObservedGeneration: 1, TypeChecking: checked}, wantWrite: true},
		{name: "up to date", status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{ObservedGeneration: 2, TypeChecking: checked}},
		{name: "changed meanwhile", updateErr: apierrors.NewConflict(schema.GroupResource{}, "p", errors.New("x")), wantWrite: true},
		{name: "server error", updateErr: errors.New("boom"), wantWrite: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 2}, Status: tc.status}
			var written *admissionregistrationv1.ValidatingAdmissionPolicy
			r := &reconciler{
				get: func(string) (*admissionregistrationv1.ValidatingAdmissionPolicy, bool) { return p, true },
				check: func(id cluster.ID, _ *admissionregistrationv1.ValidatingAdmissionPolicy) []admissionregistrationv1.ExpressionWarning {
					require.Equal(t, cluster.ID("acc"), id, "checked in its own account")
					return checked.ExpressionWarnings
				},
				updateStatus: func(_ context.Context, _ cluster.ID, q *admissionregistrationv1.ValidatingAdmissionPolicy) error {
					written = q
					return tc.updateErr
				},
			}
			err := r.reconcile(t.Context(), client.ToClusterKey("acc", "", "p"))
			require.Equal(t, tc.wantErr, err != nil, "%v", err)
			if !tc.wantWrite {
				require.Nil(t, written)
				return
			}
			require.Equal(t, int64(2), written.Status.ObservedGeneration)
			require.Equal(t, checked, written.Status.TypeChecking)
			require.Equal(t, tc.status, p.Status, "the cached policy is not changed")
		})
	}
}
