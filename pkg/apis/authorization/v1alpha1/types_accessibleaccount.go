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
