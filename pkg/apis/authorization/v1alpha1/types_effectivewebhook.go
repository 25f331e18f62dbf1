package v1alpha1

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EffectiveWebhook is one ValidatingWebhookConfiguration or MutatingWebhookConfiguration whose
// webhooks are called for requests in the account it is read in: a configuration of the
// account itself, or one labelled accountmesh.io/inherit: "true" in an ancestor. Its name is
// <account path>.<validating|mutating>.<configuration name>. It is computed on every request
// and never stored; the configurations it shows can be changed only in the account they live
// in.
//
// +genclient
// +genclient:nonNamespaced
// +genclient:onlyVerbs=get,list
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type EffectiveWebhook struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the configuration.
	// +required
	Spec EffectiveWebhookSpec `json:"spec"`
}

// EffectiveWebhookSpec describes one webhook configuration that applies in an account.
type EffectiveWebhookSpec struct {
	// account is the path of the account where the configuration lives.
	// +required
	Account string `json:"account"`
	// inherited is true when the configuration lives in an ancestor and flows down.
	// +optional
	Inherited bool `json:"inherited,omitempty"`
	// inheritable is true when the configuration is labelled to apply in descendants too.
	// +optional
	Inheritable bool `json:"inheritable,omitempty"`
	// configurationName is the configuration's name.
	// +required
	ConfigurationName string `json:"configurationName"`
	// validating are the webhooks of a ValidatingWebhookConfiguration.
	// +optional
	// +listType=atomic
	Validating []admissionregistrationv1.ValidatingWebhook `json:"validating,omitempty"`
	// mutating are the webhooks of a MutatingWebhookConfiguration.
	// +optional
	// +listType=atomic
	Mutating []admissionregistrationv1.MutatingWebhook `json:"mutating,omitempty"`
}

// EffectiveWebhookList is a list of EffectiveWebhooks, nearest account first, validating
// before mutating.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type EffectiveWebhookList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the configurations.
	Items []EffectiveWebhook `json:"items"`
}
