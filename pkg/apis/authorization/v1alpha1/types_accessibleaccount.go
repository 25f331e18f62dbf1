package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccessibleAccount is an account the caller can access: some binding in it, or an inherited
// one from an ancestor, applies to the caller. The list, read in an account, holds the
// accessible accounts of its subtree, the account itself included; read in root it covers the
// whole tree, and every authenticated user may read it there. The name is the account's path.
// It is computed on every request and never stored.
//
// The list is a tree a client can load a level at a time: spec.parent names the nearest
// ancestor in the same list and status.children counts the items whose parent the account is.
// Field selectors spec.path, spec.parent, spec.type and status.phase select by equality, and
// search by a case-insensitive substring of the path; limit and continue page through it.
//
// +genclient
// +genclient:nonNamespaced
// +genclient:onlyVerbs=get,list
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AccessibleAccount struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata; its name is the account's path.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the account.
	// +required
	Spec AccessibleAccountSpec `json:"spec"`
	// status is the account's state.
	// +optional
	Status AccessibleAccountStatus `json:"status,omitempty"`
}

// AccessibleAccountSpec describes an accessible account.
type AccessibleAccountSpec struct {
	// path is the account's path, e.g. root:acme:team-a.
	// +required
	Path string `json:"path"`
	// clusterID is the account's cluster ID.
	// +required
	ClusterID string `json:"clusterID"`
	// type is the account's type.
	// +optional
	Type string `json:"type,omitempty"`
	// parent is the path of the nearest ancestor that is in the same list, that is the
	// nearest accessible ancestor within the account the list was read in; empty for the
	// accounts at the top of the list. Accounts between the two are not accessible.
	// +optional
	Parent string `json:"parent,omitempty"`
}

// AccessibleAccountStatus is the state of an accessible account.
type AccessibleAccountStatus struct {
	// phase is the account's phase: Initializing, Ready or Terminating.
	// +optional
	Phase string `json:"phase,omitempty"`
	// children is the number of accounts in the same list whose spec.parent is this account.
	// +optional
	Children int32 `json:"children,omitempty"`
}

// AccessibleAccountList is a list of AccessibleAccounts, sorted by path.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AccessibleAccountList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the accessible accounts.
	Items []AccessibleAccount `json:"items"`
}

// Field selectors of AccessibleAccounts besides metadata.name.
const (
	// AccessibleAccountPathField selects by spec.path.
	AccessibleAccountPathField = "spec.path"
	// AccessibleAccountParentField selects by spec.parent; "spec.parent=" selects the top of
	// the list.
	AccessibleAccountParentField = "spec.parent"
	// AccessibleAccountTypeField selects by spec.type.
	AccessibleAccountTypeField = "spec.type"
	// AccessibleAccountPhaseField selects by status.phase.
	AccessibleAccountPhaseField = "status.phase"
	// AccessibleAccountSearchField selects the accounts whose path contains the value, ignoring
	// case. It supports only equality.
	AccessibleAccountSearchField = "search"
)

// AccessibleAccountFields are the field selectors of AccessibleAccounts besides metadata.name.
var AccessibleAccountFields = []string{
	AccessibleAccountPathField, AccessibleAccountParentField, AccessibleAccountTypeField,
	AccessibleAccountPhaseField, AccessibleAccountSearchField,
}
