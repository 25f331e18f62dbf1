package managedservice

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// TenantSpaceName returns the namespace of the tenant space of a binding to export: the
// export's name, with dots made dashes so that it is a DNS label, at most 63 characters.
func TenantSpaceName(export string) string {
	name := strings.ReplaceAll(export, ".", "-")
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.Trim(name, "-")
}

// bindingReconciler connects one binding to a managed service: it names the shadow account in
// the binding's status, keeps the tenant space and sets ServiceConnected. Its function fields
// are the only way it reaches the server.
type bindingReconciler struct {
	accounts Accounts
	// managed returns the managed-service export a binding binds, false for other bindings.
	managed func(b *apisv1alpha1.APIBinding) (*apisv1alpha1.APIExport, bool)
	// account reads an Account object of account parent from the cache.
	account func(parent cluster.ID, name string) (*corev1alpha1.Account, bool)
	// instance reads a ServiceInstance of a shadow account from the cache.
	instance func(shadow cluster.ID, name string) (*apisv1alpha1.ServiceInstance, bool)
	// namespace reads a namespace's metadata of account id from the cache.
	namespace       func(id cluster.ID, name string) (*metav1.PartialObjectMetadata, bool)
	createNamespace func(ctx context.Context, id cluster.ID, ns *corev1.Namespace) error
	// addOwner adds an owner reference to a namespace, guarded by its UID.
	addOwner     func(ctx context.Context, id cluster.ID, ns *metav1.PartialObjectMetadata, owner metav1.OwnerReference) error
	updateStatus func(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error
}

// step is the outcome of one part of connecting a binding: empty reason when it is done.
type step struct {
	reason, message string
	// conflict marks an outcome that needs someone to act, not just time.
	conflict bool
}

// reconcile connects a bound binding of a managed service and writes its status once if it
// changed. Other bindings, and bindings being deleted, are left alone: the garbage collector
// removes a deleted binding's tenant space, the shadow account controller its shadow account.
func (r *bindingReconciler) reconcile(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error {
	export, ok := r.managed(b)
	if !ok || b.DeletionTimestamp != nil || b.Status.Phase != apisv1alpha1.BindingPhaseBound {
		return nil
	}
	updated := b.DeepCopy()
	shadow := r.shadowAccount(id, updated)
	space, err := r.tenantSpace(ctx, id, updated, export)
	if err != nil {
		return err
	}
	c := metav1.Condition{Type: apisv1alpha1.BindingConditionServiceConnected, Status: metav1.ConditionTrue,
		Reason: apisv1alpha1.BindingReasonConnected, Message: "the shadow account and the tenant space exist", ObservedGeneration: b.Generation}
	// A conflict, which needs someone to act, is reported before what only takes time.
	var failed *step
	for _, s := range []step{shadow, space} {
		if s.reason != "" && (failed == nil || s.conflict && !failed.conflict) {
			failed = &s
		}
	}
	if failed != nil {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, failed.reason, failed.message
	}
	meta.SetStatusCondition(&updated.Status.Conditions, c)
	r.instanceReady(updated, export)
	if apiequality.Semantic.DeepEqual(b.Status, updated.Status) {
		return nil
	}
	return r.updateStatus(ctx, id, updated)
}

// instanceReady sets InstanceReady for a Dedicated service from the Ready condition the
// provider reports on the organisation's ServiceInstance; Shared services have none.
func (r *bindingReconciler) instanceReady(b *apisv1alpha1.APIBinding, export *apisv1alpha1.APIExport) {
	if export.Spec.Service.Model != apisv1alpha1.ServiceModelDedicated {
		meta.RemoveStatusCondition(&b.Status.Conditions, apisv1alpha1.BindingConditionInstanceReady)
		return
	}
	c := metav1.Condition{Type: apisv1alpha1.BindingConditionInstanceReady, Status: metav1.ConditionFalse,
		Reason: apisv1alpha1.BindingReasonInstancePending, Message: "the ServiceInstance is being created", ObservedGeneration: b.Generation}
	if b.Status.ShadowAccount == nil {
		c.Message = "the shadow account is not ready"
	} else if si, ok := r.instance(cluster.ID(b.Status.ShadowAccount.ClusterID), export.Name); ok {
		if ready := meta.FindStatusCondition(si.Status.Conditions, apisv1alpha1.ServiceInstanceConditionReady); ready != nil {
			c.Status, c.Reason, c.Message = ready.Status, ready.Reason, ready.Message
		} else {
			c.Message = "the provider has not reported on the ServiceInstance yet"
		}
	}
	meta.SetStatusCondition(&b.Status.Conditions, c)
}

// shadowAccount sets status.shadowAccount once the organisation's shadow account is Ready.
func (r *bindingReconciler) shadowAccount(id cluster.ID, b *apisv1alpha1.APIBinding) step {
	b.Status.ShadowAccount = nil
	org, ok := ConsumerOrg(r.accounts, id)
	if !ok {
		return step{reason: apisv1alpha1.BindingReasonShadowAccountPending, message: "the consumer organisation is not known yet"}
	}
	acc, ok := r.account(cluster.ID(b.Status.ExportClusterID), ShadowName(org.ID))
	switch {
	case !ok:
		return step{reason: apisv1alpha1.BindingReasonShadowAccountPending, message: "the shadow account is being created"}
	case !IsShadowOf(acc, org.ID):
		return step{reason: apisv1alpha1.BindingReasonShadowAccountConflict,
			message: "an account that is not the platform's shadow account holds its name in the provider's account; the provider must delete it", conflict: true}
	case acc.DeletionTimestamp != nil:
		return step{reason: apisv1alpha1.BindingReasonShadowAccountPending, message: "the shadow account is being deleted; it is created again once it is gone"}
	case acc.Status.Phase != corev1alpha1.AccountPhaseReady || acc.Status.ClusterID == "":
		return step{reason: apisv1alpha1.BindingReasonShadowAccountPending, message: "the shadow account is initializing"}
	}
	b.Status.ShadowAccount = &apisv1alpha1.ShadowAccountReference{Path: acc.Status.Path, ClusterID: acc.Status.ClusterID}
	return step{}
}

// tenantSpace creates or adopts the binding's tenant space and sets status.tenantSpace once it
// is the binding's. A namespace of the name that is not the binding's is left as it is.
func (r *bindingReconciler) tenantSpace(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding, export *apisv1alpha1.APIExport) (step, error) {
	b.Status.TenantSpace = nil
	name := TenantSpaceName(export.Name)
	owner := metav1.OwnerReference{
		APIVersion: apisv1alpha1.SchemeGroupVersion.String(), Kind: "APIBinding", Name: b.Name, UID: b.UID,
	}
	ns, ok := r.namespace(id, name)
	switch {
	case !ok:
		err := r.createNamespace(ctx, id, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Labels:          map[string]string{apisv1alpha1.TenantSpaceLabel: b.Name},
			OwnerReferences: []metav1.OwnerReference{owner},
		}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return step{}, fmt.Errorf("failed to create tenant space %s: %w", name, err)
		}
		// The namespace's event queues the binding again.
		return step{reason: apisv1alpha1.BindingReasonTenantSpacePending, message: fmt.Sprintf("namespace %q is being created", name)}, nil
	case ns.Labels[apisv1alpha1.TenantSpaceLabel] != b.Name:
		return step{reason: apisv1alpha1.BindingReasonTenantSpaceConflict,
			message: fmt.Sprintf("namespace %q exists and is not this binding's tenant space; it is left as it is", name), conflict: true}, nil
	case ns.DeletionTimestamp != nil:
		return step{reason: apisv1alpha1.BindingReasonTenantSpacePending, message: fmt.Sprintf("namespace %q is being deleted; it is created again once it is gone", name)}, nil
	case !slices.ContainsFunc(ns.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == b.UID }):
		// Only the platform labels tenant spaces: this one is left from an earlier binding of
		// the same name, or its owner reference was lost. The binding adopts it.
		if err := r.addOwner(ctx, id, ns, owner); err != nil {
			return step{}, fmt.Errorf("failed to adopt tenant space %s: %w", name, err)
		}
	}
	b.Status.TenantSpace = &apisv1alpha1.TenantSpace{Namespace: name}
	return step{}, nil
}
