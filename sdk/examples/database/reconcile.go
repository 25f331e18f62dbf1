package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	dbv1 "github.com/accountmesh/accountmesh/sdk/examples/database/apis/v1"
	"github.com/accountmesh/accountmesh/sdk/provider"
)

// The connection Secret's keys.
const (
	keyHost     = "host"
	keyPort     = "port"
	keyUser     = "user"
	keyPassword = "password"
)

// reconciler provisions Databases. Each request names a consumer account (its cluster ID)
// and a Database in it.
type reconciler struct {
	// client returns the client of a consumer account: reads from the shared cache, writes
	// through the view into the account.
	client func(ctx context.Context, c multicluster.ClusterName) (client.Client, error)
}

// Reconcile marks the Database Ready with its endpoint and connection Secret, or Ready=False
// SecretClaimRejected when the consumer does not accept the claim on connection Secrets.
// It writes the status once, at the end, and only when it changed.
func (r *reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	logger := klog.FromContext(ctx).WithValues("cluster", req.ClusterName, "namespace", req.Namespace, "name", req.Name)
	c, err := r.client(ctx, req.ClusterName)
	if errors.Is(err, multicluster.ErrClusterNotFound) {
		return reconcile.Result{}, nil // disengaged: the account unbound the export
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	db := &dbv1.Database{}
	if err := c.Get(ctx, req.NamespacedName, db); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	claimed, err := secretsClaimed(ctx, c)
	if err != nil {
		return reconcile.Result{}, err
	}
	if db.DeletionTimestamp != nil {
		return reconcile.Result{}, r.cleanup(ctx, c, db, claimed)
	}
	// The finalizer lets the Secret go with the Database, also when the consumer unbinds.
	if controllerutil.AddFinalizer(db, dbv1.CleanupFinalizer) {
		if err := c.Update(ctx, db); err != nil {
			return reconcile.Result{}, fmt.Errorf("failed to add the finalizer of database %s/%s: %w", db.Namespace, db.Name, err)
		}
		return reconcile.Result{}, nil // the update queues the Database again
	}

	status := db.Status.DeepCopy()
	switch {
	case !provider.DependenciesReady(db):
		// An orchestration context says what this database waits for; its annotation changing
		// queues it again.
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: dbv1.ReasonWaitingForDependencies, ObservedGeneration: db.Generation,
			Message: "waiting for the dependencies an orchestration context declares to be ready"})
	case claimed:
		endpoint, err := ensureSecret(ctx, c, db)
		if err != nil {
			return reconcile.Result{}, err
		}
		status.Endpoint = endpoint
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: dbv1.ReasonProvisioned, Message: "the database is ready; its connection Secret is " + secretName(db), ObservedGeneration: db.Generation})
	default:
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: dbv1.ReasonSecretClaimRejected, ObservedGeneration: db.Generation,
			Message: `the APIBinding does not accept the claim on secrets labelled ` + dbv1.ConnectionLabel + `=true; accept it in spec.permissionClaims to get the connection Secret`})
	}
	if !equality.Semantic.DeepEqual(&db.Status, status) {
		db.Status = *status
		if err := c.Status().Update(ctx, db); err != nil {
			return reconcile.Result{}, fmt.Errorf("failed to update the status of database %s/%s: %w", db.Namespace, db.Name, err)
		}
	}
	logger.Info("Reconciled database", "ready", claimed, "endpoint", status.Endpoint)
	return reconcile.Result{}, nil
}

// cleanup deletes a deleted Database's connection Secret, where the claim lets the provider, and
// then releases the Database.
func (r *reconciler) cleanup(ctx context.Context, c client.Client, db *dbv1.Database, claimed bool) error {
	if !controllerutil.ContainsFinalizer(db, dbv1.CleanupFinalizer) {
		return nil
	}
	if claimed {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: db.Namespace, Name: secretName(db)}}
		if err := c.Delete(ctx, secret); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete the connection secret: %w", err)
		}
	}
	controllerutil.RemoveFinalizer(db, dbv1.CleanupFinalizer)
	if err := c.Update(ctx, db); err != nil {
		return fmt.Errorf("failed to remove the finalizer of database %s/%s: %w", db.Namespace, db.Name, err)
	}
	klog.FromContext(ctx).Info("Cleaned up database", "namespace", db.Namespace, "name", db.Name)
	return nil
}

// secretsClaimed reports whether a binding of the export in the account applies the claim on
// core secrets; the view shows only this export's bindings.
func secretsClaimed(ctx context.Context, c client.Reader) (bool, error) {
	var bindings apisv1alpha1.APIBindingList
	if err := c.List(ctx, &bindings); err != nil {
		return false, fmt.Errorf("failed to list the account's bindings: %w", err)
	}
	for _, b := range bindings.Items {
		for _, claim := range b.Status.AppliedPermissionClaims {
			if claim.Group == "" && claim.Resource == "secrets" && claim.IdentityHash == "" {
				return true, nil
			}
		}
	}
	return false, nil
}

func secretName(db *dbv1.Database) string { return db.Name + "-connection" }

// ensureSecret creates or repairs the Database's connection Secret and returns the endpoint.
// The password is made once and kept.
func ensureSecret(ctx context.Context, c client.Client, db *dbv1.Database) (string, error) {
	host := db.Name + "." + db.Namespace + ".db.example.com"
	port := 5432
	if db.Spec.Engine == dbv1.EngineMySQL {
		port = 3306
	}
	want := map[string]string{keyHost: host, keyPort: strconv.Itoa(port), keyUser: db.Name}
	endpoint := host + ":" + strconv.Itoa(port)

	secret := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: db.Namespace, Name: secretName(db)}, secret)
	if apierrors.IsNotFound(err) {
		password, err := newPassword()
		if err != nil {
			return "", err
		}
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: db.Namespace, Name: secretName(db),
			Labels: map[string]string{dbv1.ConnectionLabel: "true"}}, StringData: want}
		secret.StringData[keyPassword] = password
		if err := controllerutil.SetControllerReference(db, secret, c.Scheme()); err != nil {
			return "", err
		}
		if err := c.Create(ctx, secret); err != nil {
			return "", fmt.Errorf("failed to create the connection secret: %w", err)
		}
		return endpoint, nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read the connection secret: %w", err)
	}

	updated := secret.DeepCopy()
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	updated.Labels[dbv1.ConnectionLabel] = "true"
	if updated.Data == nil {
		updated.Data = map[string][]byte{}
	}
	for k, v := range want {
		updated.Data[k] = []byte(v)
	}
	if len(updated.Data[keyPassword]) == 0 {
		password, err := newPassword()
		if err != nil {
			return "", err
		}
		updated.Data[keyPassword] = []byte(password)
	}
	if err := controllerutil.SetControllerReference(db, updated, c.Scheme()); err != nil {
		return "", err
	}
	if !equality.Semantic.DeepEqual(secret, updated) {
		if err := c.Update(ctx, updated); err != nil {
			return "", fmt.Errorf("failed to update the connection secret: %w", err)
		}
	}
	return endpoint, nil
}

func newPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to make a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
