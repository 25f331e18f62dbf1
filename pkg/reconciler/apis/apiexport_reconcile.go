package apis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// identityNamespace is where the export controller creates identity secrets.
const identityNamespace = metav1.NamespaceDefault

// exportReconciler computes the status of one APIExport. Its function fields are the only way
// it reaches the server; each works in the account it is given.
type exportReconciler struct {
	// schema returns an APIResourceSchema of an account from the cache.
	schema func(id cluster.ID, name string) (*apisv1alpha1.APIResourceSchema, bool)
	// boundSchemas returns the names of the schemas the export's bindings serve a resource
	// with now.
	boundSchemas func(id cluster.ID, export string, gr schema.GroupResource) []string
	// getSecret reads a secret; createSecret creates one.
	getSecret    func(ctx context.Context, id cluster.ID, ns, name string) (*corev1.Secret, error)
	createSecret func(ctx context.Context, id cluster.ID, s *corev1.Secret) error
	// update writes the export (its identity reference); updateStatus its status.
	update       func(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) error
	updateStatus func(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) error
	// newKey returns a new random identity key.
	newKey func() ([]byte, error)
}

// IdentityHash is the public hash of an identity key: the first 16 bytes of its SHA-256, hex.
func IdentityHash(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:16])
}

// randomKey returns 32 random bytes, base64-encoded.
func randomKey() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(b)), nil
}

// reconcile gives the export an identity and brings its status up to date, writing it once
// if it changed.
func (r *exportReconciler) reconcile(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) error {
	if e.DeletionTimestamp != nil {
		return nil
	}
	if e.Spec.Identity == nil || e.Spec.Identity.SecretRef == nil {
		return r.ensureIdentity(ctx, id, e)
	}
	updated := e.DeepCopy()
	identity := r.identity(ctx, id, updated)
	schemas := r.checkSchemas(id, updated)
	ready := metav1.Condition{Type: apisv1alpha1.ExportConditionReady, Status: metav1.ConditionTrue, Reason: apisv1alpha1.ExportReasonReady, Message: "the export can be bound"}
	for _, c := range []metav1.Condition{identity, schemas} {
		if c.Status != metav1.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, c.Reason, c.Message
			break
		}
	}
	for _, c := range []metav1.Condition{identity, schemas, ready} {
		c.ObservedGeneration = e.Generation
		meta.SetStatusCondition(&updated.Status.Conditions, c)
	}
	if apiequality.Semantic.DeepEqual(e.Status, updated.Status) {
		return nil
	}
	return r.updateStatus(ctx, id, updated)
}

// ensureIdentity creates the identity secret <export>-identity, or adopts it if it exists,
// and records it in the export's spec; the update queues the export again.
func (r *exportReconciler) ensureIdentity(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) error {
	key, err := r.newKey()
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: e.Name + "-identity", Namespace: identityNamespace},
		Data:       map[string][]byte{apisv1alpha1.IdentitySecretKey: key},
	}
	if err := r.createSecret(ctx, id, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the identity secret of APIExport %s: %w", e.Name, err)
	}
	updated := e.DeepCopy()
	updated.Spec.Identity = &apisv1alpha1.Identity{SecretRef: &corev1.SecretReference{Namespace: secret.Namespace, Name: secret.Name}}
	return r.update(ctx, id, updated)
}

// identity reads the identity key and sets status.identityHash the first time; afterwards the
// key must keep hashing to it.
func (r *exportReconciler) identity(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) metav1.Condition {
	c := metav1.Condition{Type: apisv1alpha1.ExportConditionIdentityValid, Status: metav1.ConditionFalse}
	ref := e.Spec.Identity.SecretRef
	ns := ref.Namespace
	if ns == "" {
		ns = identityNamespace
	}
	secret, err := r.getSecret(ctx, id, ns, ref.Name)
	switch {
	case apierrors.IsNotFound(err):
		c.Reason, c.Message = apisv1alpha1.ExportReasonSecretNotFound, fmt.Sprintf("identity secret %s/%s not found", ns, ref.Name)
		return c
	case err != nil:
		c.Reason, c.Message = apisv1alpha1.ExportReasonSecretNotFound, fmt.Sprintf("identity secret %s/%s could not be read: %v", ns, ref.Name, err)
		return c
	}
	key := secret.Data[apisv1alpha1.IdentitySecretKey]
	if len(key) == 0 {
		c.Reason, c.Message = apisv1alpha1.ExportReasonSecretKeyMissing, fmt.Sprintf("identity secret %s/%s has no key %q", ns, ref.Name, apisv1alpha1.IdentitySecretKey)
		return c
	}
	hash := IdentityHash(key)
	switch e.Status.IdentityHash {
	case "":
		e.Status.IdentityHash = hash
	case hash:
	default:
		c.Reason, c.Message = apisv1alpha1.ExportReasonIdentityMismatch,
			fmt.Sprintf("the key in secret %s/%s does not match the export's identity %s; restore the original key", ns, ref.Name, e.Status.IdentityHash)
		return c
	}
	c.Status, c.Reason, c.Message = metav1.ConditionTrue, apisv1alpha1.ExportReasonValid, "identity "+e.Status.IdentityHash
	return c
}

// checkSchemas checks that every exported resource names a schema of the account with its
// group and plural.
func (r *exportReconciler) checkSchemas(id cluster.ID, e *apisv1alpha1.APIExport) metav1.Condition {
	c := metav1.Condition{Type: apisv1alpha1.ExportConditionSchemasValid, Status: metav1.ConditionFalse}
	var missing, mismatched, incompatible []string
	for _, res := range e.Spec.Resources {
		s, ok := r.schema(id, res.Schema)
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%q", res.Schema))
		case s.Spec.Group != res.Group || s.Spec.Names.Plural != res.Name:
			mismatched = append(mismatched, fmt.Sprintf("schema %q defines %s.%s, not %s.%s", res.Schema, s.Spec.Names.Plural, s.Spec.Group, res.Name, res.Group))
		default:
			incompatible = append(incompatible, r.incompatible(id, e.Name, s)...)
		}
	}
	switch {
	case len(missing) > 0:
		c.Reason, c.Message = apisv1alpha1.ExportReasonSchemaNotFound, "APIResourceSchema "+strings.Join(missing, ", ")+" not found in this account"
	case len(mismatched) > 0:
		c.Reason, c.Message = apisv1alpha1.ExportReasonSchemaMismatch, strings.Join(mismatched, "; ")
	case len(incompatible) > 0:
		c.Reason, c.Message = apisv1alpha1.ExportReasonIncompatibleSchemaChange,
			strings.Join(incompatible, "; ")+"; bindings keep the schema they serve: export the change under a new group or resource"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, apisv1alpha1.ExportReasonValid, "all schemas found"
	}
	return c
}

// incompatible compares a schema with those the export's bindings serve its resource with and
// describes the changes existing objects cannot follow: another kind or scope.
func (r *exportReconciler) incompatible(id cluster.ID, export string, s *apisv1alpha1.APIResourceSchema) []string {
	var out []string
	for _, name := range r.boundSchemas(id, export, schema.GroupResource{Group: s.Spec.Group, Resource: s.Spec.Names.Plural}) {
		old, ok := r.schema(id, name)
		if !ok || name == s.Name {
			continue
		}
		if old.Spec.Names.Kind != s.Spec.Names.Kind {
			out = append(out, fmt.Sprintf("schema %q changes the kind from %s to %s", s.Name, old.Spec.Names.Kind, s.Spec.Names.Kind))
		}
		if old.Spec.Scope != s.Spec.Scope {
			out = append(out, fmt.Sprintf("schema %q changes the scope from %s to %s", s.Name, old.Spec.Scope, s.Spec.Scope))
		}
	}
	return out
}
