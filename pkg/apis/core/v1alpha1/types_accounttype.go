package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Built-in account types, created in root at boot.
const (
	// TypeRoot is the type of the root account.
	TypeRoot = "root"
	// TypeOrg is the type of organisations, children of root.
	TypeOrg = "org"
	// TypeAccount is the general-purpose type; it nests to any depth under orgs.
	TypeAccount = "account"
	// TypeProvider is the type of service providers' accounts.
	TypeProvider = "provider"
	// TypeShadow is the type of the accounts the platform creates inside a provider's account
	// for each consumer organisation of a managed service.
	TypeShadow = "shadow"
)

// ReservedTypes are the account types only the platform uses: no user creates an account of
// such a type (or of a type extending one), and no account but root defines a type of that
// name.
var ReservedTypes = []string{TypeRoot, TypeShadow}

// Built-in initializers every account passes, in this order.
const (
	// InitializerNamespace creates the default namespace.
	InitializerNamespace = "core.accountmesh.io/default-namespace"
	// InitializerOwner binds the owner to the admin ClusterRole inside the account.
	InitializerOwner = "core.accountmesh.io/owner"
	// InitializerResources creates the type's default resources.
	InitializerResources = "core.accountmesh.io/default-resources"
)

// TerminatorServiceInstances is the terminator of every shadow account: the platform deletes
// its ServiceInstances and lets the account's content go only once they are gone, so that a
// provider's finalizer on a ServiceInstance can tear the dedicated instance down with the
// customer's state still in place.
const TerminatorServiceInstances = "apis.accountmesh.io/service-instances"

// BuiltinInitializers are the initializers of every account, before those of its type.
var BuiltinInitializers = []string{InitializerNamespace, InitializerOwner, InitializerResources}

// DefinedByAnnotation records, on an AccountType with default resources, the user who last set
// them: a JSON authentication.k8s.io/v1 UserInfo. The server sets it; default resources are
// created as that user.
const DefinedByAnnotation = "accountmesh.io/defined-by"

// InheritLabel marks a ClusterRoleBinding that applies in its account and every descendant.
const InheritLabel = "accountmesh.io/inherit"

// OwnerBindingName is the ClusterRoleBinding that grants the owner the admin ClusterRole.
const OwnerBindingName = "accountmesh:owner"

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountType is a kind of account: which parents and children it allows, which initializers
// and terminators its accounts pass, and what they start with. Types defined in root are
// usable everywhere; a type defined in an account is usable in that account's subtree. An
// account names its type by name; the nearest definition, from the parent up to root, wins.
type AccountType struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the type.
	// +optional
	Spec AccountTypeSpec `json:"spec,omitempty"`
}

// AccountTypeSpec describes an account type.
type AccountTypeSpec struct {
	// extends names the type this one builds on, resolved like any type name from the account
	// this type is defined in. Its initializers, terminators, labels and default resources are
	// inherited, its constraints apply when this type sets none, and accounts of this type count
	// as accounts of the extended type wherever types are matched.
	// +optional
	Extends string `json:"extends,omitempty"`

	// allowedParents are the types an account of this type may be created in. Empty means the
	// extended type's list, or any type.
	// +optional
	// +listType=set
	AllowedParents []string `json:"allowedParents,omitempty"`

	// allowedChildren are the types of accounts that may be created in an account of this type.
	// Empty means the extended type's list, or any type. Both sides must agree.
	// +optional
	// +listType=set
	AllowedChildren []string `json:"allowedChildren,omitempty"`

	// defaultChildType is the type of child accounts that do not name one.
	// +optional
	DefaultChildType string `json:"defaultChildType,omitempty"`

	// initializers must each finish before an account of this type is Ready. A controller
	// responsible for an initializer watches accounts whose status.initializers holds its
	// name, does its work in the account and removes the name.
	// +optional
	// +listType=set
	Initializers []string `json:"initializers,omitempty"`

	// terminators must each finish, after child accounts are gone and before content is
	// deleted, when an account of this type is deleted. They work like initializers on
	// status.terminators.
	// +optional
	// +listType=set
	Terminators []string `json:"terminators,omitempty"`

	// labels are added to every Account of this type.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// defaultResources are objects created in every new account of this type, e.g.
	// ConfigMaps. Namespaced objects without a namespace go to the default namespace. They are
	// created with the rights of the user who last set them (recorded by the server in the
	// accountmesh.io/defined-by annotation), never with the platform's: setting them needs the
	// rights to create them, and creating them needs those rights in the new account.
	// +optional
	// +listType=atomic
	DefaultResources []runtime.RawExtension `json:"defaultResources,omitempty"`

	// limits are defaults for accounts of this type, and of the types extending it: an
	// account's effective limit is the smallest of its type's (and of the types it extends),
	// those its Account object and its ancestors' set, and the platform's.
	// +optional
	Limits *AccountTypeLimits `json:"limits,omitempty"`
}

// AccountTypeLimits bound each account of a type.
type AccountTypeLimits struct {
	// maxObjects is how many objects, of all resources, an account of the type may store.
	// +optional
	MaxObjects *int32 `json:"maxObjects,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountTypeList is a list of AccountTypes.
type AccountTypeList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the account types.
	Items []AccountType `json:"items"`
}
