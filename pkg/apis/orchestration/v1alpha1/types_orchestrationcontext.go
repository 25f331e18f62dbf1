package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequesterAnnotation holds, as JSON (an authentication/v1 UserInfo), the user whose rights a
// context's controller reads (and, with the Delete policy, deletes) its members with: the user
// who last created the context or changed its members or deletion policy. The server sets it on every such write and keeps it on the others; what a client
// sends is ignored.
const RequesterAnnotation = "orchestration.accountmesh.io/requester"

// DependenciesReadyAnnotation is set by the orchestration controller on a member that depends
// on others, to "true" when all of them are ready and to "false" otherwise, so that the
// member's own controller may wait for them (sdk/provider.DependenciesReady). It is set only
// where the context's requester may patch the member.
const DependenciesReadyAnnotation = "orchestration.accountmesh.io/dependencies-ready"

// Finalizer is added to every OrchestrationContext on create; the controller removes it once
// it has deleted the members (deletion policy Delete) or withdrawn its dependency gates from
// them (Orphan).
const Finalizer = "orchestration.accountmesh.io/members"

// DeletionPolicy says what happens to the members when a context is deleted.
type DeletionPolicy string

const (
	// DeletionPolicyOrphan leaves the members when the context is deleted.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
	// DeletionPolicyDelete deletes the members with the context, each only after the members
	// that depend on it are gone.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// MaxMembers is the most members a context may have.
const MaxMembers = 500

// Caps of selector members.
const (
	// MaxSelectors is the most selector members a context may have.
	MaxSelectors = 10
	// MaxSelectorAccounts is the most accounts a selector with subtree may span, its own
	// included.
	MaxSelectorAccounts = 100
	// MaxSelectorMatches is the most objects a selector may match, in all its accounts.
	MaxSelectorMatches = 100
)

// Condition types of an OrchestrationContext.
const (
	// ConditionReady is True when every member is ready.
	ConditionReady = "Ready"
	// ConditionProgressing is True while some member that has not been ready yet is not
	// ready.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when a member that was ready is not any more.
	ConditionDegraded = "Degraded"
	// ConditionDeleting reports, while a context with the Delete policy is deleted, which
	// members are being deleted and which wait for their dependents to go.
	ConditionDeleting = "Deleting"
)

// Reasons of the conditions of an OrchestrationContext and of its members' status.
const (
	// ReasonReady means the member, or every member, is ready.
	ReasonReady = "Ready"
	// ReasonNotReady means the member is not ready yet.
	ReasonNotReady = "NotReady"
	// ReasonNotFound means the member does not exist.
	ReasonNotFound = "NotFound"
	// ReasonUnauthorized means the context's requester may no longer get or watch the member.
	ReasonUnauthorized = "Unauthorized"
	// ReasonReadinessError means the readiness expression failed on the member.
	ReasonReadinessError = "ReadinessError"
	// ReasonSelectorCapped means a selector member spans more than MaxSelectorAccounts
	// accounts or matches more than MaxSelectorMatches objects; it is not ready.
	ReasonSelectorCapped = "SelectorCapped"
	// ReasonMembersNotReady means some members are not ready.
	ReasonMembersNotReady = "MembersNotReady"
	// ReasonMembersDegraded means some members were ready and are not any more.
	ReasonMembersDegraded = "MembersDegraded"
	// ReasonNoneDegraded means no member is degraded.
	ReasonNoneDegraded = "NoneDegraded"
	// ReasonSettled means no member is waiting to become ready for the first time.
	ReasonSettled = "Settled"
	// ReasonDeletingMembers means members are being deleted, in reverse dependency order.
	ReasonDeletingMembers = "DeletingMembers"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// OrchestrationContext groups related objects, in this account or others, and reports whether
// they are ready. Creating or changing its members needs get and watch on every member, in the
// member's account, at that moment; the controller then reads the members with the platform's
// identity but reports only what the requester could read: name, readiness, reason, message
// and observed generation, never a member's spec. A member the requester can no longer read
// shows Unauthorized.
type OrchestrationContext struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec lists the members.
	// +required
	Spec OrchestrationContextSpec `json:"spec"`

	// status reports the members' readiness.
	// +optional
	Status OrchestrationContextStatus `json:"status,omitempty"`
}

// OrchestrationContextSpec lists the members of a context.
type OrchestrationContextSpec struct {
	// members are the objects grouped by the context, at most MaxMembers (500). Their names
	// are unique and their dependencies form a directed acyclic graph.
	// +required
	// +listType=map
	// +listMapKey=name
	Members []Member `json:"members"`

	// deletionPolicy is Orphan (the default), which leaves the members when the context is
	// deleted, or Delete, which deletes them, each after the members that depend on it are
	// gone. Delete needs delete, besides get and watch, on every member for whoever sets it or
	// changes the members.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// Member is one object of a context, named by ref.
type Member struct {
	// name names the member within the context; a DNS label.
	// +required
	Name string `json:"name"`

	// ref names one object. Exactly one of ref and selector is set.
	// +optional
	Ref *MemberReference `json:"ref,omitempty"`

	// selector names the objects of a kind that match a label selector, in one account or in
	// an account and every account below it. The member is ready when it matches at least one
	// object and every object it matches is ready; each match is reported in status.members
	// as "<member>/<account path>/<namespace>/<name>" (without the namespace for a
	// cluster-scoped kind). At most MaxSelectors (10) per context.
	// +optional
	Selector *MemberSelector `json:"selector,omitempty"`

	// dependsOn names the members that must be ready before this one may proceed.
	// +optional
	// +listType=set
	DependsOn []string `json:"dependsOn,omitempty"`

	// readiness is a CEL expression over the member object, bound to self, that returns
	// whether the member is ready, e.g. `self.status.replicas >= 2`. When empty, a member is
	// ready when its condition Ready is True or, without such a condition, when its
	// status.phase is Ready, Active or Bound.
	// +optional
	Readiness string `json:"readiness,omitempty"`
}

// MemberReference names one object in an account.
type MemberReference struct {
	// account is the path (or cluster ID) of the member's account; the context's account
	// when empty.
	// +optional
	Account string `json:"account,omitempty"`

	// apiVersion is the member's group and version, e.g. v1 or example.com/v1.
	// +required
	APIVersion string `json:"apiVersion"`

	// kind is the member's kind, as the account serves it.
	// +required
	Kind string `json:"kind"`

	// namespace is the member's namespace; required for namespaced kinds, empty for the
	// others.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name is the member's name.
	// +required
	Name string `json:"name"`
}

// MemberSelector names the objects of a kind that match a label selector. Grouping them needs
// get, list and watch of the kind, in all its namespaces, in the account (with the Delete
// policy, delete too); with subtree, through inherited bindings at the account, which apply
// in every account below it, now and later. A selector spans at most MaxSelectorAccounts
// (100) accounts and matches at most MaxSelectorMatches (100) objects.
type MemberSelector struct {
	// account is the path of the account to select in; the context's account when empty.
	// +optional
	Account string `json:"account,omitempty"`

	// apiVersion is the objects' group and version.
	// +required
	APIVersion string `json:"apiVersion"`

	// kind is the objects' kind.
	// +required
	Kind string `json:"kind"`

	// labelSelector selects the objects; every object of the kind when empty.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`

	// subtree selects in the accounts below account too.
	// +optional
	Subtree bool `json:"subtree,omitempty"`
}

// OrchestrationContextStatus reports the readiness of a context's members.
type OrchestrationContextStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// summary says how many members are ready, as "N/M ready".
	// +optional
	Summary string `json:"summary,omitempty"`

	// readyMembers is how many members are ready.
	// +optional
	ReadyMembers int32 `json:"readyMembers,omitempty"`

	// members are the members' states, in the order of spec.members, each selector member
	// followed by the objects it matches.
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []MemberStatus `json:"members,omitempty"`

	// conditions are Ready, Progressing and Degraded; their messages name the members
	// concerned.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MemberStatus is the state of one member, as much as the requester may know of it.
type MemberStatus struct {
	// name is the member's name in spec.members or, for an object a selector member
	// matches, "<member>/<account path>/<namespace>/<name>".
	// +required
	Name string `json:"name"`

	// account is the path of the member's account.
	// +optional
	Account string `json:"account,omitempty"`

	// ready is true when the member is ready.
	// +required
	Ready bool `json:"ready"`

	// reason is Ready, NotReady, NotFound, Unauthorized, ReadinessError or, for a selector
	// member, SelectorCapped. A selector that matches nothing is NotFound.
	// +optional
	Reason string `json:"reason,omitempty"`

	// message says why, from the member's own Ready condition when it has one.
	// +optional
	Message string `json:"message,omitempty"`

	// lastTransitionTime is when ready or reason last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`

	// observedGeneration is the member's metadata.generation when it was last read.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// waitingFor names the members this one depends on that are not ready.
	// +optional
	// +listType=set
	WaitingFor []string `json:"waitingFor,omitempty"`

	// wasReady is true once the member has been ready while it was a member, so that
	// losing readiness later counts as degraded rather than progressing.
	// +optional
	WasReady bool `json:"wasReady,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// OrchestrationContextList is a list of OrchestrationContexts.
type OrchestrationContextList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the contexts.
	Items []OrchestrationContext `json:"items"`
}
