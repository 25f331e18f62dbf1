package v1alpha1

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccessGrant is one binding that applies in the account it is read in: a ClusterRoleBinding
// or RoleBinding of the account itself, or an inherited ClusterRoleBinding of an ancestor. Its
// name is <account path>.clusterrolebinding.<name> or
// <account path>.rolebinding.<namespace>.<name>. It is computed on every
// request and never stored; listing it needs `list accessgrants` (admin has it).
//
// +genclient
// +genclient:nonNamespaced
// +genclient:onlyVerbs=get,list
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AccessGrant struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the grant.
	// +required
	Spec AccessGrantSpec `json:"spec"`
}

// AccessGrantSpec describes one binding that applies in an account.
type AccessGrantSpec struct {
	// account is the path of the account where the binding lives.
	// +required
	Account string `json:"account"`
	// inherited is true when the binding lives in an ancestor and flows down.
	// +optional
	Inherited bool `json:"inherited,omitempty"`
	// inheritable is true when the binding is labelled to apply in descendants too.
	// +optional
	Inheritable bool `json:"inheritable,omitempty"`
	// kind is ClusterRoleBinding or RoleBinding.
	// +required
	Kind string `json:"kind"`
	// name is the binding's name.
	// +required
	Name string `json:"name"`
	// namespace is the namespace of a RoleBinding; empty for ClusterRoleBindings.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// roleRef is the role the binding grants, resolved in the binding's account.
	// +required
	RoleRef rbacv1.RoleRef `json:"roleRef"`
	// subjects hold the role.
	// +optional
	// +listType=atomic
	Subjects []rbacv1.Subject `json:"subjects,omitempty"`
}

// AccessGrantList is a list of AccessGrants, nearest account first.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AccessGrantList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the grants.
	Items []AccessGrant `json:"items"`
}
