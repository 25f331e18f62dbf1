package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	dbv1 "github.com/accountmesh/accountmesh/sdk/examples/database/apis/v1"
	"github.com/accountmesh/accountmesh/sdk/provider"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(s))
	require.NoError(t, dbv1.AddToScheme(s))
	require.NoError(t, apisv1alpha1.AddToScheme(s))
	return s
}

func binding(claims ...apisv1alpha1.PermissionClaim) *apisv1alpha1.APIBinding {
	return &apisv1alpha1.APIBinding{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Status: apisv1alpha1.APIBindingStatus{Phase: apisv1alpha1.BindingPhaseBound, AppliedPermissionClaims: claims}}
}

var secretsClaim = apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: []string{"*"}}

// TestReconcile runs the reconciler against a fake client of one account per case.
func TestReconcile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		engine     string
		binding    *apisv1alpha1.APIBinding
		existing   *corev1.Secret
		gate       string
		wantReady  metav1.ConditionStatus
		wantReason string
		wantPort   string
	}{
		{name: "claim accepted", binding: binding(secretsClaim), wantReady: metav1.ConditionTrue, wantReason: dbv1.ReasonProvisioned, wantPort: "5432"},
		{name: "mysql", engine: dbv1.EngineMySQL, binding: binding(secretsClaim), wantReady: metav1.ConditionTrue, wantReason: dbv1.ReasonProvisioned, wantPort: "3306"},
		{name: "claim rejected", binding: binding(), wantReady: metav1.ConditionFalse, wantReason: dbv1.ReasonSecretClaimRejected},
		{name: "claim of another resource", binding: binding(apisv1alpha1.PermissionClaim{Resource: "configmaps"}),
			wantReady: metav1.ConditionFalse, wantReason: dbv1.ReasonSecretClaimRejected},
		{name: "dependencies not ready", binding: binding(secretsClaim), gate: "false", wantReady: metav1.ConditionFalse, wantReason: dbv1.ReasonWaitingForDependencies},
		{name: "dependencies ready", binding: binding(secretsClaim), gate: "true", wantReady: metav1.ConditionTrue, wantReason: dbv1.ReasonProvisioned, wantPort: "5432"},
		{name: "no binding visible", wantReady: metav1.ConditionFalse, wantReason: dbv1.ReasonSecretClaimRejected},
		{name: "secret repaired, password kept", binding: binding(secretsClaim),
			existing: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "orders-connection"},
				Data: map[string][]byte{keyPassword: []byte("kept"), keyHost: []byte("wrong")}},
			wantReady: metav1.ConditionTrue, wantReason: dbv1.ReasonProvisioned, wantPort: "5432"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := &dbv1.Database{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "orders", UID: "u1", Generation: 1,
				Finalizers: []string{dbv1.CleanupFinalizer}}, Spec: dbv1.DatabaseSpec{Engine: tt.engine}}
			if tt.gate != "" {
				db.Annotations = map[string]string{"orchestration.accountmesh.io/dependencies-ready": tt.gate}
			}
			objs := []client.Object{db}
			if tt.binding != nil {
				objs = append(objs, tt.binding)
			}
			if tt.existing != nil {
				objs = append(objs, tt.existing)
			}
			c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).WithStatusSubresource(&dbv1.Database{}).Build()
			r := &reconciler{client: func(_ context.Context, name multicluster.ClusterName) (client.Client, error) {
				require.Equal(t, multicluster.ClusterName("consumer"), name)
				return c, nil
			}}
			req := mcreconcile.Request{ClusterName: "consumer", Request: reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: "orders"}}}
			_, err := r.Reconcile(t.Context(), req)
			require.NoError(t, err)

			got := &dbv1.Database{}
			require.NoError(t, c.Get(t.Context(), req.NamespacedName, got))
			cond := meta.FindStatusCondition(got.Status.Conditions, dbv1.ConditionReady)
			require.NotNil(t, cond)
			require.Equal(t, tt.wantReady, cond.Status)
			require.Equal(t, tt.wantReason, cond.Reason)

			secret := &corev1.Secret{}
			err = c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "orders-connection"}, secret)
			if tt.wantReady == metav1.ConditionFalse {
				require.True(t, apierrors.IsNotFound(err), "no secret without the claim or the dependencies, got %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "orders.default.db.example.com:"+tt.wantPort, got.Status.Endpoint)
			require.Equal(t, "true", secret.Labels[dbv1.ConnectionLabel])
			data := secret.Data
			if len(data) == 0 { // the fake client keeps StringData as written
				data = map[string][]byte{}
				for k, v := range secret.StringData {
					data[k] = []byte(v)
				}
			}
			require.Equal(t, "orders.default.db.example.com", string(data[keyHost]))
			require.Equal(t, tt.wantPort, string(data[keyPort]))
			require.Equal(t, "orders", string(data[keyUser]))
			require.NotEmpty(t, data[keyPassword])
			if tt.existing != nil {
				require.Equal(t, "kept", string(data[keyPassword]))
			}
			require.Len(t, secret.OwnerReferences, 1)
			require.Equal(t, types.UID("u1"), secret.OwnerReferences[0].UID)

			// A second reconcile changes nothing.
			rv := got.ResourceVersion
			_, err = r.Reconcile(t.Context(), req)
			require.NoError(t, err)
			require.NoError(t, c.Get(t.Context(), req.NamespacedName, got))
			require.Equal(t, rv, got.ResourceVersion)
		})
	}
}

// TestReconcileFinalizer checks that a new Database gets the cleanup finalizer first, and that a
// deleted one loses its connection Secret (where the claim allows) and then the finalizer.
func TestReconcileFinalizer(t *testing.T) {
	t.Parallel()
	secretsClaim := apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: []string{"*"}}
	binding := &apisv1alpha1.APIBinding{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Status: apisv1alpha1.APIBindingStatus{AppliedPermissionClaims: []apisv1alpha1.PermissionClaim{secretsClaim}}}
	req := mcreconcile.Request{ClusterName: "consumer", Request: reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: "orders"}}}
	db := &dbv1.Database{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "orders", UID: "u1"}}
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(db, binding).WithStatusSubresource(&dbv1.Database{}).Build()
	r := &reconciler{client: func(context.Context, multicluster.ClusterName) (client.Client, error) { return c, nil }}

	_, err := r.Reconcile(t.Context(), req)
	require.NoError(t, err)
	got := &dbv1.Database{}
	require.NoError(t, c.Get(t.Context(), req.NamespacedName, got))
	require.Equal(t, []string{dbv1.CleanupFinalizer}, got.Finalizers)
	require.Empty(t, got.Status.Conditions, "the finalizer is added before anything else")

	_, err = r.Reconcile(t.Context(), req)
	require.NoError(t, err)
	require.NoError(t, c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "orders-connection"}, &corev1.Secret{}))

	require.NoError(t, c.Delete(t.Context(), got))
	_, err = r.Reconcile(t.Context(), req)
	require.NoError(t, err)
	require.True(t, apierrors.IsNotFound(c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "orders-connection"}, &corev1.Secret{})),
		"the connection secret is deleted")
	require.True(t, apierrors.IsNotFound(c.Get(t.Context(), req.NamespacedName, got)), "the database is released")
}

// TestReconcileGone checks that a disengaged account and a deleted Database end the request.
func TestReconcileGone(t *testing.T) {
	t.Parallel()
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).Build()
	req := mcreconcile.Request{ClusterName: "consumer", Request: reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: "orders"}}}
	for name, r := range map[string]*reconciler{
		"disengaged": {client: func(context.Context, multicluster.ClusterName) (client.Client, error) {
			return nil, multicluster.ErrClusterNotFound
		}},
		"deleted": {client: func(context.Context, multicluster.ClusterName) (client.Client, error) { return c, nil }},
	} {
		_, err := r.Reconcile(t.Context(), req)
		require.NoError(t, err, name)
	}
}

// TestReconcileManaged runs the reconciler for a managed service: the connection Secret goes
// into the tenant space with the password kept in the shadow account, and a deleted Database
// takes both with it.
func TestReconcileManaged(t *testing.T) {
	t.Parallel()
	db := &dbv1.Database{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "orders", UID: "u1", Generation: 1,
		Finalizers: []string{dbv1.CleanupFinalizer}}}
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(db, binding()).WithStatusSubresource(&dbv1.Database{}).Build()
	shadow := fake.NewClientBuilder().WithScheme(testScheme(t)).Build()
	svc := provider.Service{}
	r := &reconciler{
		client: func(context.Context, multicluster.ClusterName) (client.Client, error) { return c, nil },
		service: func(context.Context, multicluster.ClusterName) (provider.Service, bool, error) {
			return svc, true, nil
		},
		shadow: func(_ context.Context, id string) (client.Client, error) {
			require.Equal(t, "shadowid", id)
			return shadow, nil
		},
	}
	req := mcreconcile.Request{ClusterName: "consumer", Request: reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: "orders"}}}
	ready := func() *metav1.Condition {
		got := &dbv1.Database{}
		require.NoError(t, c.Get(t.Context(), req.NamespacedName, got))
		return meta.FindStatusCondition(got.Status.Conditions, dbv1.ConditionReady)
	}

	// Not connected yet.
	_, err := r.Reconcile(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, dbv1.ReasonServicePending, ready().Reason)

	svc = provider.Service{ShadowAccount: &apisv1alpha1.ShadowAccountReference{ClusterID: "shadowid"}, TenantSpaces: []string{"db"}}
	_, err = r.Reconcile(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, metav1.ConditionTrue, ready().Status)
	secret := &corev1.Secret{}
	require.NoError(t, c.Get(t.Context(), client.ObjectKey{Namespace: "db", Name: "default-orders-connection"}, secret))
	require.Empty(t, secret.OwnerReferences, "no owner across namespaces")
	creds := &corev1.Secret{}
	require.NoError(t, shadow.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "customer-consumer"}, creds))
	require.NotEmpty(t, creds.Data["default.orders"])
	require.Equal(t, string(creds.Data["default.orders"]), secret.StringData[keyPassword])

	// Deleted: the Secret and the credential go, then the finalizer.
	require.NoError(t, c.Delete(t.Context(), db))
	_, err = r.Reconcile(t.Context(), req)
	require.NoError(t, err)
	err = c.Get(t.Context(), client.ObjectKey{Namespace: "db", Name: "default-orders-connection"}, secret)
	require.True(t, apierrors.IsNotFound(err), "got %v", err)
	require.NoError(t, shadow.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "customer-consumer"}, creds))
	require.NotContains(t, creds.Data, "default.orders")
}
