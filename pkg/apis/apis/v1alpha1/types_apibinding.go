package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BindingFinalizer is added to every APIBinding on create; the binding controller removes it
// once the bound resources' objects are gone.
const BindingFinalizer = "apis.accountmesh.io/apibinding"

// Condition types of an APIBinding. The binding controller sets them; until it has run, a
// binding has no conditions.
const (
	// BindingConditionExportValid is True when the referenced export exists, is ready and
	// has the identity the binding first bound.
	BindingConditionExportValid = "ExportValid"
	// BindingConditionBindAllowed is False when bind was revoked after binding; it is
	// informational only.
	BindingConditionBindAllowed = "BindAllowed"
	// BindingConditionNamingConflicts is False when a bound resource is already served in the
	// account by a CustomResourceDefinition or by a binding of another export.
	BindingConditionNamingConflicts = "NamingConflicts"
	// BindingConditionPermissionClaimsAccepted is False when claims are not answered or
	// changed since they were accepted; it does not block binding.
	BindingConditionPermissionClaimsAccepted = "PermissionClaimsAccepted"
	// BindingConditionInitialBindingCompleted is True once the binding was first bound.
	BindingConditionInitialBindingCompleted = "InitialBindingCompleted"
	// BindingConditionReady is True when the bound resources are served.
	BindingConditionReady = "Ready"
	// BindingConditionUnbound reports progress while a deleted binding removes its objects.
	BindingConditionUnbound = "Unbound"
	// BindingConditionServiceConnected is True when the binding of a managed service has its
	// shadow account and its tenant space; bindings of other exports do not have it.
	BindingConditionServiceConnected = "ServiceConnected"
)

// Condition reasons of an APIBinding.
const (
	// BindingReasonExportNotFound means the export does not exist or is not visible.
	BindingReasonExportNotFound = "ExportNotFound"
	// BindingReasonExportNotReady means the export is not Ready.
	BindingReasonExportNotReady = "ExportNotReady"
	// BindingReasonIdentityChanged means the export at the reference has another identity.
	BindingReasonIdentityChanged = "IdentityChanged"
	// BindingReasonNotAllowed means bind is no longer granted.
	BindingReasonNotAllowed = "NotAllowed"
	// BindingReasonNamingConflict means a bound resource is served by someone else.
	BindingReasonNamingConflict = "NamingConflict"
	// BindingReasonClaimsNotAccepted means some claims are not answered.
	BindingReasonClaimsNotAccepted = "ClaimsNotAccepted"
	// BindingReasonClaimChanged means the export changed a claim this binding accepted.
	BindingReasonClaimChanged = "ClaimChanged"
	// BindingReasonBound means the bound resources are served.
	BindingReasonBound = "Bound"
	// BindingReasonInstancesRemaining means objects of the bound resources remain.
	BindingReasonInstancesRemaining = "InstancesRemaining"
	// BindingReasonInstanceDeletionFailed means objects could not be deleted.
	BindingReasonInstanceDeletionFailed = "InstanceDeletionFailed"
	// BindingReasonInstancesDeleted means every object of the bound resources is gone.
	BindingReasonInstancesDeleted = "InstancesDeleted"
	// BindingReasonConnected means the shadow account and the tenant space exist.
	BindingReasonConnected = "Connected"
	// BindingReasonShadowAccountPending means the shadow account is not Ready yet.
	BindingReasonShadowAccountPending = "ShadowAccountPending"
	// BindingReasonShadowAccountConflict means an account that is not the platform's shadow
	// account holds the shadow account's name in the provider's account.
	BindingReasonShadowAccountConflict = "ShadowAccountConflict"
	// BindingReasonTenantSpaceConflict means the tenant space's namespace exists and is not
	// this binding's; it is left as it is.
	BindingReasonTenantSpaceConflict = "TenantSpaceConflict"
	// BindingReasonTenantSpacePending means the tenant space is being created, or deleted
	// and not yet gone.
	BindingReasonTenantSpacePending = "TenantSpacePending"
)

// TenantSpaceLabel marks a tenant space namespace with the name of its APIBinding. Only the
// platform sets, changes or removes it.
const TenantSpaceLabel = "accountmesh.io/tenant-space"

// BindingPhase is the life-cycle phase of an APIBinding.
type BindingPhase string

// The phases of an APIBinding.
const (
	// BindingPhaseBinding is the phase until the binding is first Ready.
	BindingPhaseBinding BindingPhase = "Binding"
	// BindingPhaseBound is the phase after the binding was first Ready, even when later
	// conditions fail: the API stays served from the last good state.
	BindingPhaseBound BindingPhase = "Bound"
	// BindingPhaseUnbinding is the phase once the binding is being deleted.
	BindingPhaseUnbinding BindingPhase = "Unbinding"
)

// ClaimState is a consumer's answer to a permission claim.
type ClaimState string

// The answers to a permission claim.
const (
	// ClaimAccepted grants the claim to the provider.
	ClaimAccepted ClaimState = "Accepted"
	// ClaimRejected refuses the claim; the API is served anyway.
	ClaimRejected ClaimState = "Rejected"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// APIBinding serves the resources of an APIExport, possibly of another account, in this
// account. Creating one requires the verb bind on the export in the export's account; the
// check is made at creation with the creator's identity, and the same Forbidden error is
// returned whether or not the export or its account exist. The reference cannot change:
// binding something else means a new APIBinding. The status is set by the binding
// controller, which resolves the export and serves its resources.
type APIBinding struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec names the export and answers its permission claims.
	// +required
	Spec APIBindingSpec `json:"spec"`

	// status is what is bound, set by the binding controller.
	// +optional
	Status APIBindingStatus `json:"status,omitempty"`
}

// APIBindingSpec names an export and answers its permission claims.
//
// +k8s:validation:cel[0]:rule="self.reference == oldSelf.reference"
// +k8s:validation:cel[0]:message="reference is immutable; create a new APIBinding"
// +k8s:validation:cel[0]:fieldPath=".reference"
type APIBindingSpec struct {
	// reference names the export to bind. It is immutable.
	// +required
	Reference BindingReference `json:"reference"`

	// permissionClaims are the consumer's answers to the export's claims, unique by group,
	// resource and identity hash. Accepting a claim requires holding its verbs on its
	// resource in this account.
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	// +listMapKey=identityHash
	PermissionClaims []AcceptablePermissionClaim `json:"permissionClaims,omitempty"`

	// plan is the name of one of the export's plans (spec.catalog.plans). When empty on
	// creation, the export's default plan is filled in; an export without plans takes none.
	// It may change: the provider sees the update in its view.
	// +optional
	Plan string `json:"plan,omitempty"`
}

// BindingReference names what a binding binds.
type BindingReference struct {
	// export names an APIExport.
	// +required
	Export *ExportReference `json:"export"`
}

// ExportReference names an APIExport in an account.
type ExportReference struct {
	// path is the export's account, as a path (root:prov) or a cluster ID. Empty means the
	// binding's own account.
	// +optional
	Path string `json:"path,omitempty"`

	// name is the APIExport's name.
	// +required
	Name string `json:"name"`
}

// AcceptablePermissionClaim is a consumer's answer to one of an export's claims.
type AcceptablePermissionClaim struct {
	// PermissionClaim is a copy of the export's claim.
	PermissionClaim `json:",inline"`

	// state is Accepted or Rejected.
	// +required
	State ClaimState `json:"state"`
}

// APIBindingStatus is set by the binding controller.
//
// +k8s:validation:cel[0]:rule="!has(oldSelf.exportClusterID) || (has(self.exportClusterID) && self.exportClusterID == oldSelf.exportClusterID)"
// +k8s:validation:cel[0]:message="exportClusterID is immutable once set"
// +k8s:validation:cel[1]:rule="!has(oldSelf.identityHash) || (has(self.identityHash) && self.identityHash == oldSelf.identityHash)"
// +k8s:validation:cel[1]:message="identityHash is immutable once set"
type APIBindingStatus struct {
	// phase is Binding, Bound or Unbinding.
	// +optional
	Phase BindingPhase `json:"phase,omitempty"`

	// exportClusterID is the cluster ID of the export's account, resolved at the first bind
	// and never changed after.
	// +optional
	ExportClusterID string `json:"exportClusterID,omitempty"`

	// identityHash is the export's identity hash at the first bind, never changed after.
	// +optional
	IdentityHash string `json:"identityHash,omitempty"`

	// boundResources are the resources served in this account through the binding.
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	BoundResources []BoundResource `json:"boundResources,omitempty"`

	// exportPermissionClaims are the claims the export asks for.
	// +optional
	// +listType=atomic
	ExportPermissionClaims []PermissionClaim `json:"exportPermissionClaims,omitempty"`

	// appliedPermissionClaims are the accepted claims that match the export's: what the
	// provider may use now.
	// +optional
	// +listType=atomic
	AppliedPermissionClaims []PermissionClaim `json:"appliedPermissionClaims,omitempty"`

	// plan is the plan in effect: spec.plan, or the export's default plan when spec.plan is
	// empty, once the export offers it. A plan the export no longer offers stays in effect
	// until spec.plan names another.
	// +optional
	Plan string `json:"plan,omitempty"`

	// shadowAccount is, for a managed service, the consumer organisation's shadow account in
	// the provider's account, once it exists.
	// +optional
	ShadowAccount *ShadowAccountReference `json:"shadowAccount,omitempty"`

	// tenantSpace is, for a managed service, the namespace of this account where the provider
	// writes its related resources, once it exists.
	// +optional
	TenantSpace *TenantSpace `json:"tenantSpace,omitempty"`

	// conditions are ExportValid, BindAllowed, NamingConflicts, PermissionClaimsAccepted,
	// InitialBindingCompleted, Ready, for a managed service ServiceConnected and, while
	// deleting, Unbound.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BoundResource is one resource served through a binding.
type BoundResource struct {
	// group is the resource's API group.
	// +required
	Group string `json:"group"`

	// resource is the plural resource name.
	// +required
	Resource string `json:"resource"`

	// schema is the APIResourceSchema's name in the export's account.
	// +required
	Schema string `json:"schema"`

	// schemaUID is the schema's UID, which guards against a schema deleted and created again
	// under the same name.
	// +required
	SchemaUID string `json:"schemaUID"`

	// storageVersions are every version ever used as the storage version; the list never
	// shrinks.
	// +required
	// +listType=set
	StorageVersions []string `json:"storageVersions"`
}

// ShadowAccountReference names a shadow account.
type ShadowAccountReference struct {
	// path is the shadow account's path.
	// +required
	Path string `json:"path"`

	// clusterID is the shadow account's cluster ID.
	// +required
	ClusterID string `json:"clusterID"`
}

// TenantSpace is where a managed service writes back into a consumer account.
type TenantSpace struct {
	// namespace is the tenant space's namespace, labelled accountmesh.io/tenant-space with
	// the binding's name.
	// +required
	Namespace string `json:"namespace"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// APIBindingList is a list of APIBindings.
type APIBindingList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the bindings.
	Items []APIBinding `json:"items"`
}
