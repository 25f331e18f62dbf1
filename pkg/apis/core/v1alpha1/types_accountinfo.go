package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccountInfoName is the name of the AccountInfo singleton in every account.
const AccountInfoName = "account"

// +genclient
// +genclient:nonNamespaced
// +genclient:onlyVerbs=get,list
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountInfo is the read-only singleton named "account" inside every account. It says where
// the account sits in the tree, so components read it instead of walking up the tree.
type AccountInfo struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the account.
	// +optional
	Spec AccountInfoSpec `json:"spec,omitempty"`
}

// AccountInfoSpec describes an account.
type AccountInfoSpec struct {
	// path is the account's position in the tree, e.g. root:acme:team-a.
	// +required
	Path string `json:"path"`

	// clusterID is the opaque, immutable ID of the account.
	// +required
	ClusterID string `json:"clusterID"`

	// parent is the account this account was created in. It is empty for root.
	// +optional
	Parent *AccountReference `json:"parent,omitempty"`

	// type is the account's AccountType.
	// +optional
	Type string `json:"type,omitempty"`

	// organization is the nearest account of type org on the path from root, or the account
	// itself for an org. It is empty outside organisations.
	// +optional
	Organization *AccountReference `json:"organization,omitempty"`

	// owner is the user who owns the account.
	// +optional
	Owner string `json:"owner,omitempty"`

	// createdAt is when the account was created; root has none.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`

	// consumer is set in shadow accounts: the consumer organisation the account serves and
	// the managed services it binds from the parent (provider) account.
	// +optional
	Consumer *ConsumerInfo `json:"consumer,omitempty"`

	// usage counts the accounts below this one, with the limits that apply to them.
	// +optional
	Usage *AccountUsage `json:"usage,omitempty"`
}

// ConsumerInfo describes whom a shadow account serves.
type ConsumerInfo struct {
	// organization is the consumer organisation.
	// +required
	Organization AccountReference `json:"organization"`

	// exports are the names of the APIExports of the parent account that the organisation
	// binds.
	// +optional
	// +listType=set
	Exports []string `json:"exports,omitempty"`

	// plans are the plans the organisation's bindings of those exports are on, one entry per
	// export and plan in use.
	// +optional
	// +listType=atomic
	Plans []ServicePlan `json:"plans,omitempty"`
}

// ServicePlan is a plan of an export that a consumer organisation's bindings are on.
type ServicePlan struct {
	// export is the APIExport's name.
	// +required
	Export string `json:"export"`

	// plan is the plan's name.
	// +required
	Plan string `json:"plan"`
}

// AccountUsage counts the accounts below an account against its effective limits.
type AccountUsage struct {
	// childAccounts is the number of child accounts.
	// +required
	ChildAccounts int32 `json:"childAccounts"`

	// subtreeAccounts is the number of accounts below, at any depth.
	// +required
	SubtreeAccounts int32 `json:"subtreeAccounts"`

	// maxChildAccounts is the effective limit on child accounts, if any.
	// +optional
	MaxChildAccounts *EffectiveLimit `json:"maxChildAccounts,omitempty"`

	// maxSubtreeAccounts is the smallest limit on the accounts below set on this account or an
	// ancestor, if any.
	// +optional
	MaxSubtreeAccounts *EffectiveLimit `json:"maxSubtreeAccounts,omitempty"`

	// objects is the number of objects the account stores, of all resources, as the server last
	// counted them: creations are counted as they are admitted, deletions when the server
	// counts again (every 30 s).
	// +required
	Objects int64 `json:"objects"`

	// maxObjects is the effective limit on the objects the account stores, if any: the
	// smallest set by its Account object or an ancestor's, its type, or the platform.
	// +optional
	MaxObjects *EffectiveLimit `json:"maxObjects,omitempty"`
}

// LimitSource says what set a limit.
type LimitSource string

// The sources of a limit.
const (
	// LimitSourceAccount is the Account object of the account setBy names.
	LimitSourceAccount LimitSource = "Account"
	// LimitSourceAccountType is the AccountType named type, defined in the account setBy names.
	LimitSourceAccountType LimitSource = "AccountType"
	// LimitSourcePlatform is the server's --default-max-objects-per-account; setBy is empty.
	LimitSourcePlatform LimitSource = "Platform"
)

// EffectiveLimit is a limit and the account that set it.
type EffectiveLimit struct {
	// value is the limit.
	// +required
	Value int32 `json:"value"`

	// setBy is the path of the account whose Account object sets it, or, for a type's limit,
	// where the type is defined.
	// +required
	SetBy string `json:"setBy"`

	// source says what set the limit; empty means Account.
	// +optional
	Source LimitSource `json:"source,omitempty"`

	// type is the AccountType that sets the limit, when source is AccountType.
	// +optional
	Type string `json:"type,omitempty"`
}

// AccountReference points to an account by path and cluster ID.
type AccountReference struct {
	// path is the account's position in the tree.
	// +required
	Path string `json:"path"`

	// clusterID is the opaque, immutable ID of the account.
	// +required
	ClusterID string `json:"clusterID"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountInfoList is a list of AccountInfos.
type AccountInfoList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the account infos.
	Items []AccountInfo `json:"items"`
}
