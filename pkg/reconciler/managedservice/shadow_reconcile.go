package managedservice

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// shadowNamePrefix starts the name of every shadow account.
const shadowNamePrefix = "consumer-"

// ShadowName returns the name, in the provider account, of the shadow account of the consumer
// organisation org: derived from its cluster ID only, so that creating it is idempotent.
func ShadowName(org cluster.ID) string { return shadowNamePrefix + string(org) }

// Accounts is what the controllers read of the account tree; *cluster.Index is one.
type Accounts interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// ConsumerOrg returns the organisation an account belongs to: the nearest account of type org
// from the account up to root. Outside organisations it is the top-level account on the way
// (the child of root), or root itself.
func ConsumerOrg(accounts Accounts, id cluster.ID) (cluster.Entry, bool) {
	e, ok := accounts.Lookup(id)
	if !ok {
		return cluster.Entry{}, false
	}
	top := e
	for a, ok := e, true; ok; a, ok = accounts.Lookup(a.Parent) {
		if a.Type == corev1alpha1.TypeOrg {
			return a, true
		}
		if a.Parent == "" {
			break
		}
		top = a
	}
	return top, true
}

// IsShadowOf reports whether acc is the platform's shadow account of organisation org.
func IsShadowOf(acc *corev1alpha1.Account, org cluster.ID) bool {
	return acc.Spec.Type == corev1alpha1.TypeShadow && acc.Labels[corev1alpha1.ConsumerOrgLabel] == string(org)
}

// consumerBinding is a binding with the account it lives in.
type consumerBinding struct {
	account cluster.ID
	binding *apisv1alpha1.APIBinding
}

// shadowReconciler keeps the shadow account of one pair of provider account and consumer
// organisation. Its function fields are the only way it reaches the server.
type shadowReconciler struct {
	accounts Accounts
	// bindings returns the bindings whose export lives in account provider.
	bindings func(provider cluster.ID) []consumerBinding
	// managed returns the managed-service export a binding binds, false for other bindings.
	managed func(b *apisv1alpha1.APIBinding) (*apisv1alpha1.APIExport, bool)
	// account reads an Account object of account parent from the cache.
	account func(parent cluster.ID, name string) (*corev1alpha1.Account, bool)
	create  func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error
	update  func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error
	delete  func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error
	// updateStatus writes an Account's status, with its resource version as a precondition.
	updateStatus func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error
	// instances reads the ServiceInstances of a shadow account from the cache.
	instances      func(shadow cluster.ID) []*apisv1alpha1.ServiceInstance
	createInstance func(ctx context.Context, shadow cluster.ID, si *apisv1alpha1.ServiceInstance) error
	deleteInstance func(ctx context.Context, shadow cluster.ID, si *apisv1alpha1.ServiceInstance) error
}

// reconcile creates, updates or deletes the shadow account of org in provider, and keeps the
// ServiceInstances of its Dedicated services in it.
func (r *shadowReconciler) reconcile(ctx context.Context, provider, org cluster.ID) error {
	exports, dedicated, plans := r.exports(provider, org)
	name := ShadowName(org)
	acc, exists := r.account(provider, name)
	if exists && !IsShadowOf(acc, org) {
		// Never adopted: the bindings report the conflict.
		return nil
	}
	joined, joinedPlans := strings.Join(exports, ","), strings.Join(plans, ",")
	switch {
	case exists && acc.DeletionTimestamp != nil:
		// Deleted, needed or not: created again once gone, when its deletion queues the pair.
		return r.terminate(ctx, provider, acc)
	case len(exports) == 0:
		if !exists {
			return nil
		}
		if err := r.delete(ctx, provider, acc); err != nil {
			return fmt.Errorf("failed to delete shadow account %s: %w", name, err)
		}
		return nil
	case !exists:
		if err := r.create(ctx, provider, r.newShadow(provider, org, joined, joinedPlans)); err != nil {
			return fmt.Errorf("failed to create shadow account %s: %w", name, err)
		}
		return nil
	case acc.Annotations[corev1alpha1.ServiceExportsAnnotation] != joined || acc.Annotations[corev1alpha1.ServicePlansAnnotation] != joinedPlans:
		updated := acc.DeepCopy()
		if updated.Annotations == nil {
			updated.Annotations = map[string]string{}
		}
		updated.Annotations[corev1alpha1.ServiceExportsAnnotation] = joined
		setOrDelete(updated.Annotations, corev1alpha1.ServicePlansAnnotation, joinedPlans)
		if err := r.update(ctx, provider, updated); err != nil {
			return fmt.Errorf("failed to update shadow account %s: %w", name, err)
		}
	}
	if acc.Status.Phase != corev1alpha1.AccountPhaseReady || acc.Status.ClusterID == "" {
		// The account's Ready event queues the pair again.
		return nil
	}
	return r.serviceInstances(ctx, cluster.ID(acc.Status.ClusterID), org, dedicated)
}

// serviceInstances creates a ServiceInstance in the shadow account for each Dedicated service
// the organisation binds, named after the export, and deletes those of services it no longer
// binds. Existing ones are left as they are: their spec cannot change.
func (r *shadowReconciler) serviceInstances(ctx context.Context, shadow, org cluster.ID, dedicated []string) error {
	existing := map[string]*apisv1alpha1.ServiceInstance{}
	for _, si := range r.instances(shadow) {
		existing[si.Name] = si
	}
	for _, export := range dedicated {
		if _, ok := existing[export]; ok {
			continue
		}
		si := &apisv1alpha1.ServiceInstance{
			ObjectMeta: metav1.ObjectMeta{Name: export},
			Spec: apisv1alpha1.ServiceInstanceSpec{
				Consumer: apisv1alpha1.ServiceInstanceConsumer{ClusterID: string(org)},
				Export:   export,
			},
		}
		if o, ok := r.accounts.Lookup(org); ok {
			si.Spec.Consumer.Path = o.Path
		}
		if err := r.createInstance(ctx, shadow, si); err != nil {
			return fmt.Errorf("failed to create ServiceInstance %s: %w", export, err)
		}
	}
	for name, si := range existing {
		if !slices.Contains(dedicated, name) && si.DeletionTimestamp == nil {
			if err := r.deleteInstance(ctx, shadow, si); err != nil {
				return fmt.Errorf("failed to delete ServiceInstance %s: %w", name, err)
			}
		}
	}
	return nil
}

// terminate runs the shadow account's terminator while the account is being deleted: it
// deletes the account's ServiceInstances and, once they are gone (their providers' finalizers
// done), lets the account's deletion go on by removing the terminator.
func (r *shadowReconciler) terminate(ctx context.Context, provider cluster.ID, acc *corev1alpha1.Account) error {
	if acc.Status.ClusterID == "" || !slices.Contains(acc.Status.Terminators, corev1alpha1.TerminatorServiceInstances) {
		return nil
	}
	instances := r.instances(cluster.ID(acc.Status.ClusterID))
	for _, si := range instances {
		if si.DeletionTimestamp == nil {
			if err := r.deleteInstance(ctx, cluster.ID(acc.Status.ClusterID), si); err != nil {
				return fmt.Errorf("failed to delete ServiceInstance %s: %w", si.Name, err)
			}
		}
	}
	if len(instances) > 0 {
		// The deletion of each instance queues the pair again.
		return nil
	}
	updated := acc.DeepCopy()
	updated.Status.Terminators = slices.DeleteFunc(updated.Status.Terminators, func(t string) bool { return t == corev1alpha1.TerminatorServiceInstances })
	if err := r.updateStatus(ctx, provider, updated); err != nil {
		return fmt.Errorf("failed to remove the terminator of shadow account %s: %w", acc.Name, err)
	}
	return nil
}

// exports returns the sorted names of provider's managed services that live bindings of
// organisation org bind, those of them that are Dedicated, and the plans those bindings are on
// as sorted export=plan pairs. Bindings being deleted, and those of accounts or organisations
// being deleted, do not count.
func (r *shadowReconciler) exports(provider, org cluster.ID) (out, dedicated, plans []string) {
	if o, ok := r.accounts.Lookup(org); !ok || o.Deleting {
		return nil, nil, nil
	}
	for _, cb := range r.bindings(provider) {
		b := cb.binding
		if b.DeletionTimestamp != nil || b.Status.Phase != apisv1alpha1.BindingPhaseBound {
			continue
		}
		e, ok := r.accounts.Lookup(cb.account)
		if !ok || e.Deleting {
			continue
		}
		if o, ok := ConsumerOrg(r.accounts, cb.account); !ok || o.ID != org {
			continue
		}
		export, ok := r.managed(b)
		if !ok {
			continue
		}
		if p := export.Name + "=" + b.Status.Plan; b.Status.Plan != "" && !slices.Contains(plans, p) {
			plans = append(plans, p)
		}
		if !slices.Contains(out, export.Name) {
			out = append(out, export.Name)
			if export.Spec.Service.Model == apisv1alpha1.ServiceModelDedicated {
				dedicated = append(dedicated, export.Name)
			}
		}
	}
	slices.Sort(out)
	slices.Sort(dedicated)
	slices.Sort(plans)
	return out, dedicated, plans
}

// setOrDelete sets key to value in m, or deletes it when value is empty.
func setOrDelete(m map[string]string, key, value string) {
	if value == "" {
		delete(m, key)
		return
	}
	m[key] = value
}

// newShadow returns the shadow account of org in provider, owned by the provider account's
// owner.
func (r *shadowReconciler) newShadow(provider, org cluster.ID, exports, plans string) *corev1alpha1.Account {
	acc := &corev1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{
			Name:        ShadowName(org),
			Labels:      map[string]string{corev1alpha1.ConsumerOrgLabel: string(org)},
			Annotations: map[string]string{corev1alpha1.ServiceExportsAnnotation: exports},
		},
		Spec: corev1alpha1.AccountSpec{
			Type:        corev1alpha1.TypeShadow,
			Description: "The platform's account for a consumer organisation of this account's managed services.",
		},
	}
	setOrDelete(acc.Annotations, corev1alpha1.ServicePlansAnnotation, plans)
	if p, ok := r.accounts.Lookup(provider); ok {
		acc.Spec.Owner = p.Owner
	}
	if o, ok := r.accounts.Lookup(org); ok {
		acc.Spec.DisplayName = "Consumer " + o.Path
	}
	return acc
}
