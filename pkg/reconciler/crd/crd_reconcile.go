package crd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// Reasons of the conditions this controller sets, besides upstream's.
const (
	// ReasonConversionWebhookNotSupported: the CRD asks for webhook conversion, which the
	// server does not support; it is stored but not served.
	ReasonConversionWebhookNotSupported = "ConversionWebhookNotSupported"
	// ReasonBoundResourceConflict: an APIBinding of the account serves the CRD's resource.
	ReasonBoundResourceConflict      = "BoundResourceConflict"
	reasonNoConflicts                = "NoConflicts"
	reasonInstalling                 = "Installing"
	reasonInitialNamesAccepted       = "InitialNamesAccepted"
	reasonNotAccepted                = "NotAccepted"
	reasonInstanceDeletionInProgress = "InstanceDeletionInProgress"
	reasonInstanceDeletionCompleted  = "InstanceDeletionCompleted"
	reasonInstanceDeletionFailed     = "InstanceDeletionFailed"
	reasonNeverEstablished           = "NeverEstablished"
)

// reconciler computes the status of one CRD. Its function fields are the only way it reaches
// the server and the dynamic handler; each works in the account it is given.
type reconciler struct {
	// siblings returns the other CRDs of the same group in the same account.
	siblings func(cluster string, crd *apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition
	// bound returns the resources of the same group that bindings serve in the account, as
	// CRDs, except one of the CRD's own resource: that conflict is the claim's.
	bound func(cluster string, crd *apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition
	// served reports whether the dynamic handler serves this CRD with these accepted names.
	served func(cluster string, crd *apiextensionsv1.CustomResourceDefinition) bool
	// claim makes the CRD the owner of its resource in the account; if something else owns it,
	// it returns a description of the owner, e.g. `APIBinding "db"`.
	claim func(cluster string, crd *apiextensionsv1.CustomResourceDefinition) (owner string, ok bool)
	// remaining deletes the custom resources of a terminating CRD in its account and returns
	// how many were left when it looked.
	remaining    func(ctx context.Context, cluster string, crd *apiextensionsv1.CustomResourceDefinition) (int, error)
	updateStatus func(ctx context.Context, cluster string, crd *apiextensionsv1.CustomResourceDefinition) error
}

// errWaiting reports that the CRD waits for its custom resources to go; it is retried
// (controller.Expected).
type errWaiting struct{ remaining int }

func (e errWaiting) Error() string {
	return fmt.Sprintf("%d custom resources remain", e.remaining)
}

// reconcile brings the status of crd up to date and writes it once, if it changed.
func (r *reconciler) reconcile(ctx context.Context, cluster string, crd *apiextensionsv1.CustomResourceDefinition) error {
	updated := crd.DeepCopy()
	var waitErr error
	if crd.DeletionTimestamp != nil {
		waitErr = r.cleanup(ctx, cluster, updated)
	} else {
		r.names(cluster, updated)
		r.establish(cluster, updated)
	}
	if apiequality.Semantic.DeepEqual(crd.Status, updated.Status) && slices.Equal(crd.Finalizers, updated.Finalizers) {
		return waitErr
	}
	if err := r.updateStatus(ctx, cluster, updated); err != nil {
		return fmt.Errorf("failed to update the status of CRD %s: %w", crd.Name, err)
	}
	return waitErr
}

// names accepts the requested names unless another CRD of the group in the account uses them.
func (r *reconciler) names(cluster string, crd *apiextensionsv1.CustomResourceDefinition) {
	reason, msg := CheckNames(crd.Spec.Names, append(r.siblings(cluster, crd), r.bound(cluster, crd)...))
	if reason == "" {
		if owner, ok := r.claim(cluster, crd); !ok {
			reason, msg = ReasonBoundResourceConflict, fmt.Sprintf("%s is already served in this account by %s", crd.Name, owner)
		}
	}
	cond := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionTrue, Reason: reasonNoConflicts, Message: "no conflicts found"}
	if reason != "" {
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, reason, msg
	} else {
		crd.Status.AcceptedNames = crd.Spec.Names
	}
	apiextensionshelpers.SetCRDCondition(crd, cond)
}

// CheckNames returns the reason and message of the first conflict between the requested names
// and those accepted by the siblings, or "" without conflict. Siblings are CRDs of the account
// (with the cluster annotation) or CRDs synthesized for bound resources (without).
func CheckNames(requested apiextensionsv1.CustomResourceDefinitionNames, siblings []*apiextensionsv1.CustomResourceDefinition) (string, string) {
	plurals, singulars, shortNames, kinds := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	for _, s := range siblings {
		n := s.Status.AcceptedNames
		owner := fmt.Sprintf("another CustomResourceDefinition of the group (%s)", s.Name)
		if s.Annotations[corev1alpha1.ClusterAnnotation] == "" {
			owner = fmt.Sprintf("the bound resource %s", s.Name)
		}
		plurals[n.Plural] = owner
		singulars[n.Singular] = owner
		for _, sn := range n.ShortNames {
			shortNames[sn] = owner
		}
		kinds[n.Kind], kinds[n.ListKind] = owner, owner
	}
	for _, c := range []struct {
		taken  map[string]string
		names  []string
		reason string
	}{
		{plurals, []string{requested.Plural}, "PluralConflict"},
		{singulars, []string{requested.Singular}, "SingularConflict"},
		{shortNames, requested.ShortNames, "ShortNamesConflict"},
		{kinds, []string{requested.Kind}, "KindConflict"},
		{kinds, []string{requested.ListKind}, "ListKindConflict"},
	} {
		for _, n := range c.names {
			if owner, taken := c.taken[n]; n != "" && taken {
				return c.reason, fmt.Sprintf("%q is already in use by %s", n, owner)
			}
		}
	}
	return "", ""
}

// establish sets Established once the names are accepted and the handler serves the CRD.
// Once established, a CRD stays established.
func (r *reconciler) establish(cluster string, crd *apiextensionsv1.CustomResourceDefinition) {
	if apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) {
		return
	}
	cond := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse}
	switch {
	case crd.Spec.Conversion != nil && crd.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter:
		cond.Reason = ReasonConversionWebhookNotSupported
		cond.Message = "conversion webhooks are not supported; use spec.conversion.strategy None"
	case !apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.NamesAccepted):
		cond.Reason, cond.Message = reasonNotAccepted, "not all names are accepted"
	case !r.served(cluster, crd):
		cond.Reason, cond.Message = reasonInstalling, "the initial names have been accepted"
	default:
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionTrue, reasonInitialNamesAccepted, "the initial names have been accepted"
	}
	apiextensionshelpers.SetCRDCondition(crd, cond)
}

// cleanup deletes the CRD's custom resources in its account and then releases the finalizer.
func (r *reconciler) cleanup(ctx context.Context, cluster string, crd *apiextensionsv1.CustomResourceDefinition) error {
	if !apiextensionshelpers.CRDHasFinalizer(crd, apiextensionsv1.CustomResourceCleanupFinalizer) {
		return nil
	}
	cond := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue}
	if !apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) {
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, reasonNeverEstablished, "the CustomResourceDefinition was never established"
		apiextensionshelpers.SetCRDCondition(crd, cond)
		apiextensionshelpers.CRDRemoveFinalizer(crd, apiextensionsv1.CustomResourceCleanupFinalizer)
		return nil
	}
	n, err := r.remaining(ctx, cluster, crd)
	switch {
	case err != nil:
		cond.Reason, cond.Message = reasonInstanceDeletionFailed, fmt.Sprintf("could not delete instances: %v", err)
		apiextensionshelpers.SetCRDCondition(crd, cond)
		return err
	case n > 0:
		cond.Reason, cond.Message = reasonInstanceDeletionInProgress, fmt.Sprintf("%d %s remain; waiting for their finalizers", n, schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Status.AcceptedNames.Plural})
		apiextensionshelpers.SetCRDCondition(crd, cond)
		return controller.Expected(errWaiting{remaining: n})
	}
	cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, reasonInstanceDeletionCompleted, "removed all instances"
	apiextensionshelpers.SetCRDCondition(crd, cond)
	apiextensionshelpers.CRDRemoveFinalizer(crd, apiextensionsv1.CustomResourceCleanupFinalizer)
	return nil
}

// groupOf returns the index value grouping CRDs by account and group.
func groupOf(cluster, group string) string {
	return cluster + "|" + strings.ToLower(group)
}
