package apis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/names"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
	"github.com/accountmesh/accountmesh/pkg/reconciler/crd"
)

// bindingReconciler computes the status of one APIBinding. Its function fields are the only way
// it reaches the server, the name claims and what accounts serve; each works in the account it
// is given.
type bindingReconciler struct {
	// resolve returns the account of a path or cluster ID; pathOf the path of an account.
	resolve func(pathOrID string) (cluster.ID, bool)
	pathOf  func(id cluster.ID) string
	// export, schema and binding read the caches.
	export  func(id cluster.ID, name string) (*apisv1alpha1.APIExport, bool)
	schema  func(id cluster.ID, name string) (*apisv1alpha1.APIResourceSchema, bool)
	binding func(id cluster.ID, name string) (*apisv1alpha1.APIBinding, bool)
	// claim and release arbitrate who serves a group/resource in an account.
	claim   func(id cluster.ID, gr schema.GroupResource, o names.Owner) (names.Owner, bool)
	release func(id cluster.ID, gr schema.GroupResource, o names.Owner)
	// siblings returns what else serves names in a group of an account, as CRDs: CRDs with
	// accepted names, and resources bound from exports other than identityHash.
	siblings func(id cluster.ID, group, identityHash string) []*apiextensionsv1.CustomResourceDefinition
	// bound returns what an account serves from bindings under a CRD name.
	bound func(id cluster.ID, name string) (BoundResource, bool)
	// deleteInstances deletes the objects of a resource in an account and returns how many
	// there were when it looked.
	deleteInstances func(ctx context.Context, id cluster.ID, crd *apiextensionsv1.CustomResourceDefinition) (int, error)
	updateStatus    func(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error
	removeFinalizer func(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error
}

// reconcile binds or unbinds, writing the status once if it changed.
func (r *bindingReconciler) reconcile(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error {
	if b.DeletionTimestamp != nil {
		return r.unbind(ctx, id, b)
	}
	updated := b.DeepCopy()
	if !r.bind(id, updated) {
		// The export changed and its controller has not judged it yet; its status update
		// queues the binding again.
		return nil
	}
	if apiequality.Semantic.DeepEqual(b.Status, updated.Status) {
		return nil
	}
	return r.updateStatus(ctx, id, updated)
}

// bind resolves the export, claims its resources and applies the claims. On failure the
// binding keeps what it had bound: its phase stays Bound once it was. It returns false,
// changing nothing, while the export's status is older than its spec.
func (r *bindingReconciler) bind(id cluster.ID, b *apisv1alpha1.APIBinding) bool {
	set := func(c metav1.Condition) {
		c.ObservedGeneration = b.Generation
		meta.SetStatusCondition(&b.Status.Conditions, c)
	}
	fail := func(c metav1.Condition) {
		set(c)
		set(metav1.Condition{Type: apisv1alpha1.BindingConditionReady, Status: metav1.ConditionFalse, Reason: c.Reason, Message: c.Message})
		if b.Status.Phase == "" {
			b.Status.Phase = apisv1alpha1.BindingPhaseBinding
		}
	}
	export, cond := r.resolveExport(id, b)
	if export == nil {
		fail(cond)
		return true
	}
	if ready := meta.FindStatusCondition(export.Status.Conditions, apisv1alpha1.ExportConditionReady); ready.ObservedGeneration < export.Generation {
		return false
	}
	set(cond)
	b.Status.Plan = planInEffect(b, export)
	bound, conflict := r.claimResources(id, b, export)
	if conflict != "" {
		fail(metav1.Condition{Type: apisv1alpha1.BindingConditionNamingConflicts, Status: metav1.ConditionFalse, Reason: apisv1alpha1.BindingReasonNamingConflict, Message: conflict})
		return true
	}
	set(metav1.Condition{Type: apisv1alpha1.BindingConditionNamingConflicts, Status: metav1.ConditionTrue, Reason: "NoConflicts", Message: "no naming conflicts"})
	b.Status.BoundResources = bound
	set(applyClaims(b, export))
	set(metav1.Condition{Type: apisv1alpha1.BindingConditionInitialBindingCompleted, Status: metav1.ConditionTrue, Reason: apisv1alpha1.BindingReasonBound, Message: "the export's resources were bound"})
	set(metav1.Condition{Type: apisv1alpha1.BindingConditionReady, Status: metav1.ConditionTrue, Reason: apisv1alpha1.BindingReasonBound, Message: "the export's resources are served"})
	b.Status.Phase = apisv1alpha1.BindingPhaseBound
	return true
}

// resolveExport finds the export, pinning its account and identity the first time. It returns
// nil and the failing ExportValid condition when the export cannot be bound.
func (r *bindingReconciler) resolveExport(id cluster.ID, b *apisv1alpha1.APIBinding) (*apisv1alpha1.APIExport, metav1.Condition) {
	ref := b.Spec.Reference.Export
	c := metav1.Condition{Type: apisv1alpha1.BindingConditionExportValid, Status: metav1.ConditionFalse}
	shown := ref.Path
	if shown == "" {
		shown = r.pathOf(id)
	}
	notFound := func() (*apisv1alpha1.APIExport, metav1.Condition) {
		c.Reason, c.Message = apisv1alpha1.BindingReasonExportNotFound, fmt.Sprintf("APIExport %q not found in %q; check spec.reference.export", ref.Name, shown)
		return nil, c
	}
	exportID := cluster.ID(b.Status.ExportClusterID)
	if exportID == "" {
		var ok bool
		if ref.Path == "" {
			exportID, ok = id, true
		} else {
			exportID, ok = r.resolve(ref.Path)
		}
		if !ok {
			return notFound()
		}
	}
	export, ok := r.export(exportID, ref.Name)
	if !ok {
		return notFound()
	}
	if !meta.IsStatusConditionTrue(export.Status.Conditions, apisv1alpha1.ExportConditionReady) || export.Status.IdentityHash == "" {
		msg := "it has no identity yet"
		if ready := meta.FindStatusCondition(export.Status.Conditions, apisv1alpha1.ExportConditionReady); ready != nil {
			msg = ready.Message
		}
		c.Reason, c.Message = apisv1alpha1.BindingReasonExportNotReady, fmt.Sprintf("APIExport %q is not ready: %s", ref.Name, msg)
		return nil, c
	}
	if b.Status.IdentityHash != "" && b.Status.IdentityHash != export.Status.IdentityHash {
		c.Reason, c.Message = apisv1alpha1.BindingReasonIdentityChanged,
			fmt.Sprintf("APIExport %q in %q now has another identity; create a new APIBinding to bind it", ref.Name, shown)
		return nil, c
	}
	b.Status.ExportClusterID, b.Status.IdentityHash = string(exportID), export.Status.IdentityHash
	c.Status, c.Reason, c.Message = metav1.ConditionTrue, "Valid", fmt.Sprintf("APIExport %q of %q", ref.Name, shown)
	return export, c
}

// planInEffect returns the binding's plan: spec.plan, or the export's default when it is
// empty, once the export offers it; else the plan in effect so far.
func planInEffect(b *apisv1alpha1.APIBinding, export *apisv1alpha1.APIExport) string {
	want := b.Spec.Plan
	if want == "" {
		want = export.DefaultPlan()
	}
	if want != "" && export.HasPlan(want) {
		return want
	}
	return b.Status.Plan
}

// claimResources claims the export's resources in the account and returns them as bound
// resources, or a message naming what already serves one of them. Resources the export no
// longer has are released.
func (r *bindingReconciler) claimResources(id cluster.ID, b *apisv1alpha1.APIBinding, export *apisv1alpha1.APIExport) ([]apisv1alpha1.BoundResource, string) {
	owner := names.Owner{Kind: names.OwnerBinding, Name: b.Name, IdentityHash: b.Status.IdentityHash}
	previous := map[schema.GroupResource]apisv1alpha1.BoundResource{}
	wasBound := sets.New[schema.GroupResource]()
	for _, br := range b.Status.BoundResources {
		gr := schema.GroupResource{Group: br.Group, Resource: br.Resource}
		previous[gr] = br
		wasBound.Insert(gr)
	}
	var bound []apisv1alpha1.BoundResource
	var claimed []schema.GroupResource
	// Claims won in this pass are not kept for a binding that does not bind.
	abandon := func() {
		for _, c := range claimed {
			if !wasBound.Has(c) {
				r.release(id, c, owner)
			}
		}
	}
	for _, res := range export.Spec.Resources {
		gr := schema.GroupResource{Group: res.Group, Resource: res.Name}
		if current, ok := r.claim(id, gr, owner); !ok {
			abandon()
			msg := fmt.Sprintf("%s is already served in this account by %s %q", gr, current.Kind, current.Name)
			if current.Kind == names.OwnerBinding {
				msg += " (a different export)"
			}
			return nil, msg + "; delete it or bind another export"
		}
		claimed = append(claimed, gr)
		br, had := previous[gr]
		delete(previous, gr)
		s, ok := r.schema(cluster.ID(b.Status.ExportClusterID), res.Schema)
		if !ok {
			// The export is not ready without its schemas; keep serving what was bound.
			if had {
				bound = append(bound, br)
			}
			continue
		}
		if reason, msg := crd.CheckNames(s.Spec.Names, r.siblings(id, res.Group, b.Status.IdentityHash)); reason != "" {
			abandon()
			return nil, fmt.Sprintf("%s cannot be served in this account: %s (%s)", gr, msg, reason)
		}
		br = apisv1alpha1.BoundResource{Group: res.Group, Resource: res.Name, Schema: s.Name, SchemaUID: string(s.UID), StorageVersions: br.StorageVersions}
		for _, v := range s.Spec.Versions {
			if v.Storage && !slices.Contains(br.StorageVersions, v.Name) {
				br.StorageVersions = append(br.StorageVersions, v.Name)
			}
		}
		bound = append(bound, br)
	}
	for gr := range previous {
		r.release(id, gr, owner)
	}
	sort.Slice(bound, func(i, j int) bool {
		return bound[i].Group+"/"+bound[i].Resource < bound[j].Group+"/"+bound[j].Resource
	})
	return bound, ""
}

// applyClaims copies the export's claims to status and applies those the consumer accepted as
// they are now: a claim the export changed since it was accepted is not applied.
func applyClaims(b *apisv1alpha1.APIBinding, export *apisv1alpha1.APIExport) metav1.Condition {
	b.Status.ExportPermissionClaims = slices.Clone(export.Spec.PermissionClaims)
	b.Status.AppliedPermissionClaims = nil
	var unanswered, changed []string
	for _, want := range export.Spec.PermissionClaims {
		i := slices.IndexFunc(b.Spec.PermissionClaims, func(a apisv1alpha1.AcceptablePermissionClaim) bool {
			return a.Group == want.Group && a.Resource == want.Resource && a.IdentityHash == want.IdentityHash
		})
		switch {
		case i < 0:
			unanswered = append(unanswered, describeClaim(want))
		case !apiequality.Semantic.DeepEqual(b.Spec.PermissionClaims[i].PermissionClaim, want):
			if b.Spec.PermissionClaims[i].State == apisv1alpha1.ClaimAccepted {
				changed = append(changed, describeClaim(want))
			}
		case b.Spec.PermissionClaims[i].State == apisv1alpha1.ClaimAccepted:
			b.Status.AppliedPermissionClaims = append(b.Status.AppliedPermissionClaims, want)
		}
	}
	c := metav1.Condition{Type: apisv1alpha1.BindingConditionPermissionClaimsAccepted, Status: metav1.ConditionFalse}
	switch {
	case len(changed) > 0:
		c.Reason, c.Message = apisv1alpha1.BindingReasonClaimChanged,
			"the export changed claims this binding accepted: "+strings.Join(changed, ", ")+"; accept them again as they are in status.exportPermissionClaims"
	case len(unanswered) > 0:
		c.Reason, c.Message = apisv1alpha1.BindingReasonClaimsNotAccepted,
			"claims not answered: "+strings.Join(unanswered, ", ")+"; copy them from status.exportPermissionClaims to spec.permissionClaims with state Accepted or Rejected"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, "Answered", "every claim of the export is answered"
	}
	return c
}

// describeClaim names a claim's resource for messages, e.g. "secrets (core)".
func describeClaim(c apisv1alpha1.PermissionClaim) string {
	group := c.Group
	if group == "" {
		group = "core"
	}
	return fmt.Sprintf("%s (%s)", c.Resource, group)
}

// unbind deletes the account's instances of the bound resources, unless another binding of the
// account serves them, then releases the claims and the finalizer.
func (r *bindingReconciler) unbind(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error {
	if !slices.Contains(b.Finalizers, apisv1alpha1.BindingFinalizer) {
		return nil
	}
	updated := b.DeepCopy()
	updated.Status.Phase = apisv1alpha1.BindingPhaseUnbinding
	remaining := map[string]int{}
	var deleteErr error
	for _, br := range b.Status.BoundResources {
		name := br.Resource + "." + br.Group
		e, ok := r.bound(id, name)
		if !ok || e.IdentityHash != b.Status.IdentityHash || r.coOwned(id, b.Name, e) {
			continue
		}
		n, err := r.deleteInstances(ctx, id, e.CRD)
		if err != nil {
			deleteErr = err
			continue
		}
		if n > 0 {
			remaining[name] = n
		}
	}
	c := metav1.Condition{Type: apisv1alpha1.BindingConditionUnbound, Status: metav1.ConditionFalse, ObservedGeneration: b.Generation}
	switch {
	case deleteErr != nil:
		c.Reason, c.Message = apisv1alpha1.BindingReasonInstanceDeletionFailed, fmt.Sprintf("could not delete instances: %v", deleteErr)
	case len(remaining) > 0:
		var parts []string
		for name, n := range remaining {
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
		slices.Sort(parts)
		c.Reason, c.Message = apisv1alpha1.BindingReasonInstancesRemaining, strings.Join(parts, ", ")+" remain; waiting for their finalizers"
	default:
		for _, br := range b.Status.BoundResources {
			r.release(id, schema.GroupResource{Group: br.Group, Resource: br.Resource}, names.Owner{Kind: names.OwnerBinding, Name: b.Name, IdentityHash: b.Status.IdentityHash})
		}
		return r.removeFinalizer(ctx, id, b)
	}
	meta.SetStatusCondition(&updated.Status.Conditions, c)
	if !apiequality.Semantic.DeepEqual(b.Status, updated.Status) {
		if err := r.updateStatus(ctx, id, updated); err != nil {
			return err
		}
	}
	if deleteErr != nil {
		return deleteErr
	}
	return controller.Expected(errors.New(c.Message))
}

// coOwned reports whether another live binding of the account serves the resource.
func (r *bindingReconciler) coOwned(id cluster.ID, self string, e BoundResource) bool {
	for _, name := range e.Bindings {
		if name == self {
			continue
		}
		if other, ok := r.binding(id, name); ok && other.DeletionTimestamp == nil {
			return true
		}
	}
	return false
}
