package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
)

// CategoryLabelPrefix prefixes the label an entry carries for each of its categories, with the
// value "true": category.accountmesh.io/<category>.
const CategoryLabelPrefix = "category.accountmesh.io/"

// ConditionReady is the entry's copy of the export's Ready condition: an entry whose export is
// not Ready is listed, with the reason, but cannot be bound yet.
const ConditionReady = "Ready"

// +genclient
// +genclient:nonNamespaced
// +genclient:onlyVerbs=get,list,watch
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// MarketplaceEntry is an APIExport the caller may bind in this account, as the marketplace
// shows it. Entries are computed for each request, never stored, and cannot be written: an
// account lists one entry per export that the caller may bind from it (the verb bind on the
// export, checked as binding checks it), and nothing about the others. The name is the
// export's name and a short hash of the provider account's cluster ID and the export's name,
// stable for the export's life.
type MarketplaceEntry struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the provider offers.
	// +optional
	Spec MarketplaceEntrySpec `json:"spec,omitempty"`

	// status is the export's readiness and this account's bindings of it.
	// +optional
	Status MarketplaceEntryStatus `json:"status,omitempty"`
}

// MarketplaceEntrySpec is what a provider offers through one export.
type MarketplaceEntrySpec struct {
	// provider is the account that exports the service.
	// +required
	Provider Provider `json:"provider"`

	// export is the APIExport's name in the provider account.
	// +required
	Export string `json:"export"`

	// catalog is the export's catalog description.
	// +optional
	Catalog Catalog `json:"catalog,omitempty"`

	// model is the managed service's model, Shared or Dedicated; empty for a plain API.
	// +optional
	Model apisv1alpha1.ServiceModel `json:"model,omitempty"`

	// plans are the plans a binding chooses from.
	// +optional
	// +listType=atomic
	Plans []apisv1alpha1.Plan `json:"plans,omitempty"`

	// locations are where the service runs, once the platform knows locations.
	// +optional
	// +listType=set
	Locations []string `json:"locations,omitempty"`

	// resources are the APIs a binding serves in the account.
	// +optional
	// +listType=atomic
	Resources []ServedResource `json:"resources,omitempty"`

	// permissionClaims are what the provider asks for in the consumer account, with their
	// verbs and selectors: what a binding is asked to accept or reject.
	// +optional
	// +listType=atomic
	PermissionClaims []apisv1alpha1.PermissionClaim `json:"permissionClaims,omitempty"`
}

// Provider names the account of an export.
type Provider struct {
	// path is the provider account's path, as a binding's spec.reference.export.path.
	// +required
	Path string `json:"path"`

	// displayName is the provider account's display name.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
}

// Catalog is an export's catalog description.
type Catalog struct {
	// displayName is a human-readable name of the service.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// description says what the service does.
	// +optional
	Description string `json:"description,omitempty"`

	// categories group services; each is also a label category.accountmesh.io/<category>.
	// +optional
	// +listType=set
	Categories []string `json:"categories,omitempty"`

	// iconURL is an https or data:image/ URL of an icon.
	// +optional
	IconURL string `json:"iconURL,omitempty"`

	// documentationURL is an https URL of the service's documentation.
	// +optional
	DocumentationURL string `json:"documentationURL,omitempty"`
}

// ServedResource is one API served by a binding.
type ServedResource struct {
	// group is the resource's API group.
	// +required
	Group string `json:"group"`

	// resource is the plural resource name.
	// +required
	Resource string `json:"resource"`
}

// MarketplaceEntryStatus is the export's readiness and this account's bindings of it.
type MarketplaceEntryStatus struct {
	// bindings are the APIBindings of this account that bind the export.
	// +optional
	// +listType=map
	// +listMapKey=name
	Bindings []Binding `json:"bindings,omitempty"`

	// conditions is Ready, copied from the export: False or Unknown means it cannot be bound
	// yet, with the reason.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Binding is an APIBinding of this account that binds an entry's export.
type Binding struct {
	// name is the APIBinding's name.
	// +required
	Name string `json:"name"`

	// phase is the binding's phase.
	// +optional
	Phase apisv1alpha1.BindingPhase `json:"phase,omitempty"`

	// plan is the binding's plan in effect.
	// +optional
	Plan string `json:"plan,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// MarketplaceEntryList is a list of MarketplaceEntries.
type MarketplaceEntryList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the entries.
	Items []MarketplaceEntry `json:"items"`
}
