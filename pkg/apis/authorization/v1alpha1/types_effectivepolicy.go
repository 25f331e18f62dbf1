package v1alpha1

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EffectivePolicy is one ValidatingAdmissionPolicyBinding that applies in the account it is
// read in: a binding of the account itself, one labelled accountmesh.io/inherit: "true" in
// an ancestor, or one an APIExport bound here names in spec.admissionPolicies, with the policy
// it binds (both resolved where the binding lives). Its name is <account path>.<binding name>,
// or <account path>.<export name>.<binding name> for an export's. It is computed on every
// request and never stored; the bindings it shows can be changed only in the account they live
// in.
//
// +genclient
// +genclient:nonNamespaced
// +genclient:onlyVerbs=get,list
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type EffectivePolicy struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the binding and its policy.
	// +required
	Spec EffectivePolicySpec `json:"spec"`
}

// EffectivePolicySpec describes one binding that applies in an account.
type EffectivePolicySpec struct {
	// account is the path of the account where the binding and its policy live.
	// +required
	Account string `json:"account"`
	// inherited is true when the binding lives in an ancestor and flows down.
	// +optional
	Inherited bool `json:"inherited,omitempty"`
	// inheritable is true when the binding is labelled to apply in descendants too.
	// +optional
	Inheritable bool `json:"inheritable,omitempty"`
	// export is set when the binding comes from the APIExport of that name in account, bound
	// here: it applies to that export's resources only.
	// +optional
	Export string `json:"export,omitempty"`
	// bindingName is the ValidatingAdmissionPolicyBinding's name.
	// +required
	BindingName string `json:"bindingName"`
	// binding is the binding's spec.
	// +required
	Binding admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec `json:"binding"`
	// policy is the spec of the policy it binds; unset when that policy does not exist, and the
	// binding then does nothing.
	// +optional
	Policy *admissionregistrationv1.ValidatingAdmissionPolicySpec `json:"policy,omitempty"`
}

// EffectivePolicyList is a list of EffectivePolicies, nearest account first.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type EffectivePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the policies.
	Items []EffectivePolicy `json:"items"`
}
