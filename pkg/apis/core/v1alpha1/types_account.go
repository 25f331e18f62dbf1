package v1alpha1

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterAnnotation is stamped by the storage layer on every stored object. Its value is the
// cluster ID of the account the object lives in. Clients cannot set or change it.
const ClusterAnnotation = "accountmesh.io/cluster"

// AccountFinalizer keeps an Account object until its account, all descendants and all
// content are gone.
const AccountFinalizer = "core.accountmesh.io/account"

// Labels and annotations of shadow accounts (type shadow). Only the platform sets them, and
// only on shadow accounts.
const (
	// ConsumerOrgLabel marks a shadow account's Account object with the cluster ID of the
	// consumer organisation it serves.
	ConsumerOrgLabel = "accountmesh.io/consumer-org"
	// ServiceExportsAnnotation lists, on a shadow account's Account object, the names of the
	// parent account's exports the consumer organisation binds, comma-separated and sorted.
	ServiceExportsAnnotation = "accountmesh.io/service-exports"
	// ServicePlansAnnotation lists, on a shadow account's Account object, the plans the
	// consumer organisation's bindings of those exports are on, as export=plan pairs,
	// comma-separated and sorted.
	ServicePlansAnnotation = "accountmesh.io/service-plans"
)

// AccountPhase is the lifecycle phase of an account.
type AccountPhase string

const (
	// AccountPhaseInitializing means the account exists but is not ready for use yet.
	AccountPhaseInitializing AccountPhase = "Initializing"
	// AccountPhaseReady means the account is initialized and serves requests.
	AccountPhaseReady AccountPhase = "Ready"
	// AccountPhaseTerminating means the account, its descendants and its content are being deleted.
	AccountPhaseTerminating AccountPhase = "Terminating"
)

// Condition types of an Account.
const (
	// AccountConditionReady is True when the account is initialized and usable.
	AccountConditionReady = "Ready"
	// AccountConditionInitialized is True when every initializer has finished.
	AccountConditionInitialized = "Initialized"
	// AccountConditionContentDeleted reports progress while a terminating account's
	// descendants and content are removed.
	AccountConditionContentDeleted = "ContentDeleted"
)

// Condition reasons of an Account.
const (
	// AccountReasonInitializing means initialization steps are still pending.
	AccountReasonInitializing = "Initializing"
	// AccountReasonInitializersPending means initializers have not finished yet.
	AccountReasonInitializersPending = "InitializersPending"
	// AccountReasonInitialized means every initializer has finished.
	AccountReasonInitialized = "Initialized"
	// AccountReasonInitializerFailed means a built-in initializer failed; the message says why, and
	// it is retried with backoff.
	AccountReasonInitializerFailed = "InitializerFailed"
	// AccountReasonTerminatorsPending means terminators have not finished yet.
	AccountReasonTerminatorsPending = "TerminatorsPending"
	// AccountReasonReady means every initialization step has finished.
	AccountReasonReady = "Ready"
	// AccountReasonChildrenRemaining means child accounts still exist.
	AccountReasonChildrenRemaining = "ChildAccountsRemaining"
	// AccountReasonContentRemaining means objects still exist inside the account.
	AccountReasonContentRemaining = "ContentRemaining"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Account is a child account of the account it is created in. Creating Account "acme" in
// account "root" creates the account "root:acme", an isolated Kubernetes-compatible API
// endpoint at /clusters/root:acme. Deleting it deletes the account, its descendants and
// everything in them.
type Account struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the account.
	// +optional
	Spec AccountSpec `json:"spec,omitempty"`

	// status is the observed state of the account, written by the platform.
	// +optional
	Status AccountStatus `json:"status,omitempty"`
}

// AccountSpec is the desired state of an account.
type AccountSpec struct {
	// type is the account's AccountType, resolved from the parent up to root. It defaults to
	// the parent type's default child type and cannot be changed.
	// +optional
	Type string `json:"type,omitempty"`

	// owner is the user who owns the account; the owner is bound to the admin role inside it.
	// It defaults to the user who creates the account.
	// +optional
	Owner string `json:"owner,omitempty"`

	// displayName is a human-readable name for the account.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// description says what the account is for.
	// +optional
	Description string `json:"description,omitempty"`

	// limits bound the account tree below this account. They flow down: an account's
	// effective limit is the smallest set on it and its ancestors. Only who may change the
	// Account object, in the parent, may change them.
	// +optional
	Limits *AccountLimits `json:"limits,omitempty"`
}

// AccountLimits bound the account and the accounts below it.
type AccountLimits struct {
	// maxChildAccounts is how many child accounts the account, and each account below it, may
	// have.
	// +optional
	MaxChildAccounts *int32 `json:"maxChildAccounts,omitempty"`

	// maxSubtreeAccounts is how many accounts there may be below the account, at any depth.
	// +optional
	MaxSubtreeAccounts *int32 `json:"maxSubtreeAccounts,omitempty"`

	// maxObjects is how many objects, of all resources, the account, and each account below
	// it, may store.
	// +optional
	MaxObjects *int32 `json:"maxObjects,omitempty"`
}

// AccountStatus is the observed state of an account.
type AccountStatus struct {
	// phase is the lifecycle phase: Initializing, Ready or Terminating.
	// +optional
	Phase AccountPhase `json:"phase,omitempty"`

	// clusterID is the opaque, immutable ID of the account. It is accepted in URLs in place
	// of the path: /clusters/<clusterID>.
	// +optional
	ClusterID string `json:"clusterID,omitempty"`

	// path is the account's position in the tree, e.g. root:acme:team-a.
	// +optional
	Path string `json:"path,omitempty"`

	// url is where the account's API is served.
	// +optional
	URL string `json:"url,omitempty"`

	// initializers are the initializers still to finish; the account is Ready when none is left.
	// +optional
	// +listType=atomic
	Initializers []string `json:"initializers,omitempty"`

	// terminators are the terminators still to finish once the account is being deleted.
	// +optional
	// +listType=atomic
	Terminators []string `json:"terminators,omitempty"`

	// conditions describe the account's readiness and deletion progress.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountList is a list of Accounts.
type AccountList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the accounts.
	Items []Account `json:"items"`
}

// SetInitializingConditions sets the Initialized and Ready conditions of an account whose
// initializers are pending, naming them. The registry sets them on create and the account
// controller keeps them, so that a new account needs no status write until it is Ready.
func SetInitializingConditions(status *AccountStatus, generation int64) {
	msg := "waiting for initializers: " + strings.Join(status.Initializers, ", ")
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type: AccountConditionInitialized, Status: metav1.ConditionFalse, Reason: AccountReasonInitializersPending,
		Message: msg, ObservedGeneration: generation,
	})
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type: AccountConditionReady, Status: metav1.ConditionFalse, Reason: AccountReasonInitializing,
		Message: msg, ObservedGeneration: generation,
	})
}
