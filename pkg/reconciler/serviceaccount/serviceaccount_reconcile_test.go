package serviceaccount

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	const id = cluster.ID("abc")
	tests := []struct {
		name       string
		exists     bool
		createErr  error
		wantCreate bool
		wantErr    bool
	}{
		{name: "already there", exists: true},
		{name: "missing is created", wantCreate: true},
		{name: "created meanwhile", createErr: apierrors.NewAlreadyExists(corev1.Resource("serviceaccounts"), DefaultName), wantCreate: true},
		{name: "namespace deleted meanwhile", createErr: apierrors.NewNotFound(corev1.Resource("namespaces"), "team"), wantCreate: true},
		{name: "refused is retried", createErr: apierrors.NewForbidden(corev1.Resource("serviceaccounts"), DefaultName, errors.New("terminating")),
			wantCreate: true, wantErr: true},
		{name: "failure is retried", createErr: apierrors.NewInternalError(errors.New("boom")), wantCreate: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var created []*corev1.ServiceAccount
			r := &reconciler{
				exists: func(gotID cluster.ID, namespace string) bool {
					require.Equal(t, id, gotID)
					require.Equal(t, "team", namespace)
					return tc.exists
				},
				create: func(_ context.Context, gotID cluster.ID, sa *corev1.ServiceAccount) error {
					require.Equal(t, id, gotID, "the ServiceAccount goes to the namespace's account")
					created = append(created, sa)
					return tc.createErr
				},
			}
			err := r.ensure(t.Context(), id, "team")
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			if !tc.wantCreate {
				require.Empty(t, created)
				return
			}
			require.Equal(t, []*corev1.ServiceAccount{{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: "team"}}}, created)
		})
	}
}
