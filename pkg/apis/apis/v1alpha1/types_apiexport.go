package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of an APIExport. The export controller sets them; until it has run, an
// export has no conditions.
const (
	// ExportConditionIdentityValid is True when the identity secret exists and its key hashes
	// to status.identityHash.
	ExportConditionIdentityValid = "IdentityValid"
	// ExportConditionSchemasValid is True when every exported resource names an existing
	// APIResourceSchema of the same group and plural.
	ExportConditionSchemasValid = "SchemasValid"
	// ExportConditionReady is True when IdentityValid and SchemasValid are True.
	ExportConditionReady = "Ready"
)

// Condition reasons of an APIExport.
const (
	// ExportReasonValid means the condition holds.
	ExportReasonValid = "Valid"
	// ExportReasonReady means the export can be bound.
	ExportReasonReady = "Ready"
	// ExportReasonSecretNotFound means the identity secret does not exist.
	ExportReasonSecretNotFound = "SecretNotFound"
	// ExportReasonSecretKeyMissing means the identity secret has no key "key".
	ExportReasonSecretKeyMissing = "SecretKeyMissing"
	// ExportReasonIdentityMismatch means the identity secret's key hashes differently from
	// status.identityHash.
	ExportReasonIdentityMismatch = "IdentityMismatch"
	// ExportReasonSchemaNotFound means a named APIResourceSchema does not exist; the message
	// names it.
	ExportReasonSchemaNotFound = "SchemaNotFound"
	// ExportReasonSchemaMismatch means a schema's group or plural differ from its resource
	// entry.
	ExportReasonSchemaMismatch = "SchemaMismatch"
	// ExportReasonIncompatibleSchemaChange means a schema changed scope or kind, or dropped
	// the schema of a version that objects are stored in.
	ExportReasonIncompatibleSchemaChange = "IncompatibleSchemaChange"
)

// IdentitySecretKey is the key of an export's identity secret that holds its identity.
const IdentitySecretKey = "key"

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// APIExport publishes resources, each described by an APIResourceSchema of the same account,
// so that other accounts can bind them with an APIBinding. Who may bind an export is decided
// by RBAC in the export's account: the verb bind on apiexports, by name. Its status (identity
// hash and conditions) is set by the export controller.
type APIExport struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec lists the exported resources, the export's identity, the permissions it claims in
	// consumer accounts and its catalog entry.
	// +required
	Spec APIExportSpec `json:"spec"`

	// status is the export's identity hash and conditions, set by the export controller.
	// +optional
	Status APIExportStatus `json:"status,omitempty"`
}

// APIExportSpec is what an export publishes and asks for.
//
// +k8s:validation:cel[0]:rule="!has(oldSelf.identity) || !has(oldSelf.identity.secretRef) || (has(self.identity) && has(self.identity.secretRef) && self.identity.secretRef == oldSelf.identity.secretRef)"
// +k8s:validation:cel[0]:message="identity.secretRef is immutable once set"
type APIExportSpec struct {
	// resources are the exported resources, 1 to 64, unique by group and name.
	// +required
	// +listType=map
	// +listMapKey=group
	// +listMapKey=name
	Resources []ExportedResource `json:"resources"`

	// identity is the secret whose key, hashed, keeps this export's objects apart from those
	// of any other export of the same resource. When empty, the export controller creates a
	// secret and sets it; once set, it cannot change.
	// +optional
	Identity *Identity `json:"identity,omitempty"`

	// permissionClaims ask for access to resources in consumer accounts, at most 32. A
	// consumer accepts or rejects each one in its APIBinding.
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	// +listMapKey=identityHash
	PermissionClaims []PermissionClaim `json:"permissionClaims,omitempty"`

	// catalog describes the service to people choosing it.
	// +optional
	Catalog *Catalog `json:"catalog,omitempty"`

	// service makes the export a managed service: the platform gives every consumer
	// organisation a shadow account in this account and every binding a tenant space in its
	// account. Without it the export is bound as a plain API. Its model cannot change, nor can
	// it be removed, while the export has bindings.
	// +optional
	Service *ServiceSpec `json:"service,omitempty"`

	// admissionPolicies name ValidatingAdmissionPolicyBindings of this account, at most 16,
	// that apply to the exported resources in every account that binds them: each binding's
	// policy and params are resolved in this account, and it is evaluated only for requests on
	// this export's resources there, whatever its match says. Consumers see them in their
	// effectivepolicies and cannot change or remove them. Naming a binding needs the right to
	// get it.
	// +optional
	// +listType=map
	// +listMapKey=bindingName
	AdmissionPolicies []ExportAdmissionPolicy `json:"admissionPolicies,omitempty"`
}

// ExportAdmissionPolicy names a ValidatingAdmissionPolicyBinding of the export's account that
// applies to the export's resources wherever they are bound.
type ExportAdmissionPolicy struct {
	// bindingName is the ValidatingAdmissionPolicyBinding's name. A binding that does not
	// exist (yet) does nothing.
	// +required
	BindingName string `json:"bindingName"`
}

// ServiceModel says how a managed service serves its consumers.
type ServiceModel string

// The models of a managed service.
const (
	// ServiceModelShared is tenant-based: one instance run by the provider serves every
	// consumer, each a tenant of it.
	ServiceModelShared ServiceModel = "Shared"
	// ServiceModelDedicated is deployment-based: the provider deploys an instance for each
	// consumer organisation.
	ServiceModelDedicated ServiceModel = "Dedicated"
)

// ServiceSpec declares an export a managed service.
type ServiceSpec struct {
	// model is Shared or Dedicated.
	// +required
	Model ServiceModel `json:"model"`

	// relatedResources are the resources the provider writes back into each binding's tenant
	// space, and nowhere else: configmaps and secrets of the core group, at most 8. They cannot
	// also be permission claims.
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	RelatedResources []RelatedResource `json:"relatedResources,omitempty"`
}

// RelatedResource is a resource a managed service writes back into tenant spaces.
type RelatedResource struct {
	// group is the resource's API group; "" is the core group.
	// +optional
	Group string `json:"group"`

	// resource is the plural resource name.
	// +required
	Resource string `json:"resource"`
}

// ExportedResource is one resource of an export.
type ExportedResource struct {
	// group is the resource's API group, a DNS subdomain with at least one dot.
	// +required
	Group string `json:"group"`

	// name is the plural resource name, a DNS label.
	// +required
	Name string `json:"name"`

	// schema is the name of the APIResourceSchema in this account that describes the
	// resource; its group and plural must equal group and name.
	// +required
	Schema string `json:"schema"`
}

// Identity names the secret that holds an export's identity.
type Identity struct {
	// secretRef is the secret, in the export's account, whose key "key" is the identity.
	// +optional
	SecretRef *corev1.SecretReference `json:"secretRef,omitempty"`
}

// PermissionClaim asks for access to a resource in consumer accounts.
type PermissionClaim struct {
	// group is the resource's API group; "" is the core group.
	// +optional
	Group string `json:"group"`

	// resource is the plural resource name. Without identityHash only configmaps, secrets,
	// serviceaccounts, namespaces and events of the core group and coordination.k8s.io
	// leases can be claimed.
	// +required
	Resource string `json:"resource"`

	// identityHash names the export that serves the resource, for resources that are
	// themselves bound from another export; its group must then contain a dot.
	// +optional
	IdentityHash string `json:"identityHash,omitempty"`

	// verbs are the claimed verbs: get, list, watch, create, update, patch, delete,
	// deletecollection, or "*" for all of them.
	// +required
	// +listType=set
	Verbs []string `json:"verbs"`

	// selector limits the claim to objects whose labels match; nil claims every object of
	// the resource.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// Catalog describes an export to people choosing it.
type Catalog struct {
	// displayName is a human-readable name, at most 256 characters.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// description says what the service does, at most 4096 characters.
	// +optional
	Description string `json:"description,omitempty"`

	// categories group exports in a catalog: at most 16 DNS labels.
	// +optional
	// +listType=set
	Categories []string `json:"categories,omitempty"`

	// iconURL is an https URL or a data:image/ URL of an icon, at most 64 KiB.
	// +optional
	IconURL string `json:"iconURL,omitempty"`

	// documentationURL is an https URL of the service's documentation.
	// +optional
	DocumentationURL string `json:"documentationURL,omitempty"`

	// plans are the offers a consumer chooses from when binding, at most 16, unique by name;
	// at most one is the default, chosen when a binding names none.
	// +optional
	// +listType=map
	// +listMapKey=name
	Plans []Plan `json:"plans,omitempty"`
}

// Plan is one offer of an export, e.g. a tier of service. The platform records the plan each
// binding chose; what a plan means is the provider's business.
type Plan struct {
	// name identifies the plan: a DNS label.
	// +required
	Name string `json:"name"`

	// displayName is a human-readable name, at most 256 characters.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// description says what the plan offers, at most 4096 characters.
	// +optional
	Description string `json:"description,omitempty"`

	// default marks the plan a binding gets when it names none; at most one plan is the
	// default.
	// +optional
	Default bool `json:"default,omitempty"`
}

// APIExportStatus is set by the export controller.
//
// +k8s:validation:cel[0]:rule="!has(oldSelf.identityHash) || (has(self.identityHash) && self.identityHash == oldSelf.identityHash)"
// +k8s:validation:cel[0]:message="identityHash is immutable once set"
type APIExportStatus struct {
	// identityHash is the hex SHA-256 of the identity key, its first 16 bytes (32
	// characters). It is public, and never changes once set.
	// +optional
	IdentityHash string `json:"identityHash,omitempty"`

	// conditions are IdentityValid, SchemasValid and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Plans returns the export's plans.
func (e *APIExport) Plans() []Plan {
	if e.Spec.Catalog == nil {
		return nil
	}
	return e.Spec.Catalog.Plans
}

// DefaultPlan returns the name of the export's default plan, "" when it has none.
func (e *APIExport) DefaultPlan() string {
	for _, p := range e.Plans() {
		if p.Default {
			return p.Name
		}
	}
	return ""
}

// HasPlan reports whether the export offers the plan named name.
func (e *APIExport) HasPlan(name string) bool {
	for _, p := range e.Plans() {
		if p.Name == name {
			return true
		}
	}
	return false
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// APIExportList is a list of APIExports.
type APIExportList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the exports.
	Items []APIExport `json:"items"`
}
