package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// APIResourceSchema is the immutable schema of one resource in a provider account, written as
// the spec of a CustomResourceDefinition without conversion. APIExports name schemas to
// publish them. The naming convention is <prefix>.<plural>.<group>, for example
// v1.databases.db.example.com, so that a new revision of the schema is a new object. The spec
// cannot change once created; labels and annotations can. A schema has no status.
//
// +k8s:validation:cel[0]:rule="self.spec == oldSelf.spec"
// +k8s:validation:cel[0]:message="spec is immutable; create a new APIResourceSchema"
// +k8s:validation:cel[0]:fieldPath=".spec"
type APIResourceSchema struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the resource's group, names, scope and versions. It is validated as the spec of
	// a CustomResourceDefinition (structural schemas, CEL rules, one storage version), may not
	// name a group the server serves itself, and is immutable.
	// +required
	Spec APIResourceSchemaSpec `json:"spec"`
}

// APIResourceSchemaSpec describes one resource as a CustomResourceDefinition's spec does,
// with the same field names.
type APIResourceSchemaSpec struct {
	// group is the API group of the resource, a DNS subdomain with at least one dot, for
	// example db.example.com. Groups served by Account Mesh itself are refused.
	// +required
	Group string `json:"group"`

	// names are the plural, singular, kind, list kind, short names and categories of the
	// resource, as in a CustomResourceDefinition.
	// +required
	Names apiextensionsv1.CustomResourceDefinitionNames `json:"names"`

	// scope is Namespaced or Cluster.
	// +required
	Scope apiextensionsv1.ResourceScope `json:"scope"`

	// versions are the versions of the resource, as in a CustomResourceDefinition: exactly one
	// is the storage version, and each has a structural OpenAPI v3 schema.
	// +required
	// +listType=map
	// +listMapKey=name
	Versions []apiextensionsv1.CustomResourceDefinitionVersion `json:"versions"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// APIResourceSchemaList is a list of APIResourceSchemas.
type APIResourceSchemaList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the schemas.
	Items []APIResourceSchema `json:"items"`
}
