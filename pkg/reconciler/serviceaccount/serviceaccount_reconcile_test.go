package serviceaccount

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	const id cluster.ID = "aaaaaaaaaaaaaaaa"
	active := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
	deleting := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "team", DeletionTimestamp: &metav1.Time{}}}
	for _, tc := range []struct {
		name       string
		ns         metav1.Object
		hasDefault bool
		createErr  error
		wantCreate bool
		wantErr    bool
	}{
		{name: "new namespace", ns: active, wantCreate: true},
		{name: "already has one", ns: active, hasDefault: true},
		{name: "namespace gone", ns: nil},
		{name: "namespace terminating", ns: deleting},
		{name: "created meanwhile", ns: active, createErr: apierrors.NewAlreadyExists(corev1.Resource("serviceaccounts"), DefaultName), wantCreate: true},
		{name: "terminated meanwhile", ns: active, createErr: apierrors.NewForbidden(corev1.Resource("serviceaccounts"), DefaultName, errors.New("terminating")), wantCreate: true},
		{name: "server error is retried", ns: active, createErr: apierrors.NewInternalError(errors.New("boom")), wantCreate: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			created := false
			r := &reconciler{
				namespace: func(key string) (metav1.Object, bool) {
					require.Equal(t, client.ToClusterKey(id, "", "team"), key)
					return tc.ns, tc.ns != nil
				},
				hasDefault: func(gotID cluster.ID, namespace string) bool {
					require.Equal(t, id, gotID)
					require.Equal(t, "team", namespace)
					return tc.hasDefault
				},
				create: func(_ context.Context, gotID cluster.ID, namespace string) error {
					require.Equal(t, id, gotID)
					require.Equal(t, "team", namespace)
					created = true
					return tc.createErr
				},
			}
			err := r.reconcile(t.Context(), client.ToClusterKey(id, "", "team"))
			require.Equal(t, tc.wantErr, err != nil, "%v", err)
			require.Equal(t, tc.wantCreate, created)
		})
	}
}
