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
	// service returns the shadow account and tenant spaces of a consumer account of a managed
	// service, false for other exports; nil means the export is no managed service.
	service func(ctx context.Context, c multicluster.ClusterName) (provider.Service, bool, error)
	// shadow returns the client of a shadow account, by cluster ID.
	shadow func(ctx context.Context, id string) (client.Client, error)
}

// Reconcile marks the Database Ready with its endpoint and connection Secret. For a managed
// service the Secret goes into the account's tenant space and its password is the customer's
// credential, kept in the organisation's shadow account; otherwise it goes beside the Database,
// or the Database is Ready=False SecretClaimRejected when the consumer does not accept the
// claim on connection Secrets. It writes the status once, at the end, and only when it changed.
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
	var svc provider.Service
	managed := false
	if r.service != nil {
		if svc, managed, err = r.service(ctx, req.ClusterName); err != nil {
			return reconcile.Result{}, err
		}
	}
	if db.DeletionTimestamp != nil {
		return reconcile.Result{}, r.cleanup(ctx, req.ClusterName, c, db, claimed, svc)
	}
	// The finalizer lets the Secret go with the Database, also when the consumer unbinds.
	if controllerutil.AddFinalizer(db, dbv1.CleanupFinalizer) {
		if err := c.Update(ctx, db); err != nil {
			return reconcile.Result{}, fmt.Errorf("failed to add the finalizer of database %s/%s: %w", db.Namespace, db.Name, err)
		}
		return reconcile.Result{}, nil // the update queues the Database again
	}

	status := db.Status.DeepCopy()
	ready := false
	switch {
	case !provider.DependenciesReady(db):
		// An orchestration context says what this database waits for; its annotation changing
		// queues it again.
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: dbv1.ReasonWaitingForDependencies, ObservedGeneration: db.Generation,
			Message: "waiting for the dependencies an orchestration context declares to be ready"})
	case managed && (svc.ShadowAccount == nil || len(svc.TenantSpaces) == 0):
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: dbv1.ReasonServicePending, Message: "the platform is connecting the account to the service", ObservedGeneration: db.Generation})
	case managed:
		password, err := r.credential(ctx, svc, req.ClusterName, db)
		if err != nil {
			return reconcile.Result{}, err
		}
		space := svc.TenantSpaces[0]
		endpoint, err := ensureSecret(ctx, c, db, space, tenantSecretName(db), password)
		if err != nil {
			return reconcile.Result{}, err
		}
		status.Endpoint, ready = endpoint, true
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: dbv1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: dbv1.ReasonProvisioned, Message: "the database is ready; its connection Secret is " + space + "/" + tenantSecretName(db), ObservedGeneration: db.Generation})
	case claimed:
		endpoint, err := ensureSecret(ctx, c, db, db.Namespace, secretName(db), "")
		if err != nil {
			return reconcile.Result{}, err
		}
		status.Endpoint, ready = endpoint, true
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
	logger.Info("Reconciled database", "ready", ready, "endpoint", status.Endpoint)
	return reconcile.Result{}, nil
}

// cleanup deletes a deleted Database's connection Secret, where the claim or the tenant space
// lets the provider, and its credential in the shadow account, and then releases the Database.
func (r *reconciler) cleanup(ctx context.Context, account multicluster.ClusterName, c client.Client, db *dbv1.Database, claimed bool, svc provider.Service) error {
	if !controllerutil.ContainsFinalizer(db, dbv1.CleanupFinalizer) {
		return nil
	}
	for _, space := range svc.TenantSpaces {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: space, Name: tenantSecretName(db)}}
		// The tenant space goes with an unbound binding, and its Secrets with it.
		if err := c.Delete(ctx, secret); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return fmt.Errorf("failed to delete the connection secret in tenant space %s: %w", space, err)
		}
	}
	if svc.ShadowAccount != nil {
		if err := r.forgetCredential(ctx, svc, account, db); err != nil {
			return err
		}
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

// tenantSecretName is the name of a Database's connection Secret in the tenant space, which
// holds those of every namespace of the account.
func tenantSecretName(db *dbv1.Database) string { return db.Namespace + "-" + db.Name + "-connection" }

// credentialsName is the Secret of a consumer account's credentials in the shadow account of
// its organisation, which serves every account of the organisation.
func credentialsName(account multicluster.ClusterName) string { return "customer-" + string(account) }

// credentialKey is a Database's key in its account's credentials Secret.
func credentialKey(db *dbv1.Database) string { return db.Namespace + "." + db.Name }

// credential returns the password of a Database, kept in the credentials Secret of its account
// in the shadow account, making it once.
func (r *reconciler) credential(ctx context.Context, svc provider.Service, account multicluster.ClusterName, db *dbv1.Database) (string, error) {
	sc, err := r.shadow(ctx, svc.ShadowAccount.ClusterID)
	if err != nil {
		return "", err
	}
	creds := &corev1.Secret{}
	err = sc.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: credentialsName(account)}, creds)
	if apierrors.IsNotFound(err) {
		creds = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: credentialsName(account)}}
		if err := sc.Create(ctx, creds); err != nil {
			return "", fmt.Errorf("failed to create the credentials of account %s: %w", account, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("failed to read the credentials of account %s: %w", account, err)
	}
	if p := creds.Data[credentialKey(db)]; len(p) > 0 {
		return string(p), nil
	}
	password, err := newPassword()
	if err != nil {
		return "", err
	}
	if creds.Data == nil {
		creds.Data = map[string][]byte{}
	}
	creds.Data[credentialKey(db)] = []byte(password)
	if err := sc.Update(ctx, creds); err != nil {
		return "", fmt.Errorf("failed to store the credential of database %s/%s: %w", db.Namespace, db.Name, err)
	}
	return password, nil
}

// forgetCredential removes a deleted Database's password from the shadow account.
func (r *reconciler) forgetCredential(ctx context.Context, svc provider.Service, account multicluster.ClusterName, db *dbv1.Database) error {
	sc, err := r.shadow(ctx, svc.ShadowAccount.ClusterID)
	if err != nil {
		return err
	}
	creds := &corev1.Secret{}
	if err := sc.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: credentialsName(account)}, creds); err != nil {
		return client.IgnoreNotFound(err)
	}
	if _, ok := creds.Data[credentialKey(db)]; !ok {
		return nil
	}
	delete(creds.Data, credentialKey(db))
	if err := sc.Update(ctx, creds); err != nil {
		return fmt.Errorf("failed to forget the credential of database %s/%s: %w", db.Namespace, db.Name, err)
	}
	return nil
}

// ensureSecret creates or repairs the Database's connection Secret namespace/name and returns
// the endpoint. The password is the given one, or, when empty, made once and kept. A Secret
// beside the Database is owned by it.
func ensureSecret(ctx context.Context, c client.Client, db *dbv1.Database, namespace, name, password string) (string, error) {
	host := db.Name + "." + db.Namespace + ".db.example.com"
	port := 5432
	if db.Spec.Engine == dbv1.EngineMySQL {
		port = 3306
	}
	want := map[string]string{keyHost: host, keyPort: strconv.Itoa(port), keyUser: db.Name}
	endpoint := host + ":" + strconv.Itoa(port)

	owned := namespace == db.Namespace
	secret := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		if password == "" {
			if password, err = newPassword(); err != nil {
				return "", err
			}
		}
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
			Labels: map[string]string{dbv1.ConnectionLabel: "true"}}, StringData: want}
		secret.StringData[keyPassword] = password
		if owned {
			if err := controllerutil.SetControllerReference(db, secret, c.Scheme()); err != nil {
				return "", err
			}
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
	switch {
	case password != "":
		updated.Data[keyPassword] = []byte(password)
	case len(updated.Data[keyPassword]) == 0:
		password, err := newPassword()
		if err != nil {
			return "", err
		}
		updated.Data[keyPassword] = []byte(password)
	}
	if owned {
		if err := controllerutil.SetControllerReference(db, updated, c.Scheme()); err != nil {
			return "", err
		}
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
