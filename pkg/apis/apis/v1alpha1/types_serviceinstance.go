package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of a ServiceInstance. The provider's controller sets them.
const (
	// ServiceInstanceConditionReady is True once the provider has deployed the consumer's
	// dedicated instance and it serves at status.endpoint. The consumer's bindings of the
	// export show it as InstanceReady.
	ServiceInstanceConditionReady = "Ready"
)

// Condition types and reasons the platform sets on the APIBindings of a Dedicated managed
// service.
const (
	// BindingConditionInstanceReady mirrors the Ready condition of the organisation's
	// ServiceInstance in the shadow account; False with InstancePending until the provider
	// reports one.
	BindingConditionInstanceReady = "InstanceReady"
	// BindingReasonInstancePending means the ServiceInstance does not exist yet, or the
	// provider has not reported on it.
	BindingReasonInstancePending = "InstancePending"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ServiceInstance asks a provider to deploy a dedicated instance of a managed service (an
// APIExport with spec.service.model Dedicated) for one consumer organisation. The platform
// creates it in the organisation's shadow account, named after the export, while the
// organisation binds the export, and deletes it when the last binding goes; only the platform
// writes its spec. The provider's controller deploys the instance and reports on it in the
// status, which the consumer's bindings show as InstanceReady.
type ServiceInstance struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says whom and what the instance is for, set by the platform.
	// +required
	Spec ServiceInstanceSpec `json:"spec"`

	// status is the provider's report on the instance.
	// +optional
	Status ServiceInstanceStatus `json:"status,omitempty"`
}

// ServiceInstanceSpec says whom and what a dedicated instance is for.
//
// +k8s:validation:cel[0]:rule="self == oldSelf"
// +k8s:validation:cel[0]:message="spec is immutable"
type ServiceInstanceSpec struct {
	// consumer is the consumer organisation the instance serves.
	// +required
	Consumer ServiceInstanceConsumer `json:"consumer"`

	// export is the name of the managed service's APIExport in the provider account (the
	// shadow account's parent).
	// +required
	Export string `json:"export"`

	// location is where the instance should run, once placement chooses one.
	// +optional
	Location string `json:"location,omitempty"`
}

// ServiceInstanceConsumer names a consumer organisation.
type ServiceInstanceConsumer struct {
	// path is the organisation's path.
	// +required
	Path string `json:"path"`

	// clusterID is the organisation's cluster ID.
	// +required
	ClusterID string `json:"clusterID"`
}

// ServiceInstanceStatus is the provider's report on a dedicated instance.
type ServiceInstanceStatus struct {
	// endpoint is where the consumer reaches the instance, once it is deployed.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// conditions are the provider's observations; Ready says the instance serves.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ServiceInstanceList is a list of ServiceInstances.
type ServiceInstanceList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the ServiceInstances.
	Items []ServiceInstance `json:"items"`
}
