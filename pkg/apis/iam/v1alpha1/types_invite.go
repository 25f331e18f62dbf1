package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InviteEmailField is the field selector of an invite's address (spec.email, in lower case).
const InviteEmailField = "spec.email"

// NormalizeEmail returns an address as invites store and compare it: trimmed, in lower case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// InvitePhase says where an Invite stands.
type InvitePhase string

// Phases of an Invite. Only a Pending invite can be accepted; the others are final.
const (
	// InvitePending means the invite waits for its user to sign in.
	InvitePending InvitePhase = "Pending"
	// InviteAccepted means the user signed in and was granted the role.
	InviteAccepted InvitePhase = "Accepted"
	// InviteExpired means spec.expiresAt passed before the user signed in; it grants nothing.
	InviteExpired InvitePhase = "Expired"
	// InviteFailed means the user signed in, but the inviter may no longer grant the role
	// here; it grants nothing. A new invite, by someone who may, is needed.
	InviteFailed InvitePhase = "Failed"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Invite grants a ClusterRole in its account to whoever signs in with a verified email
// address: when a user whose ID token carries that address in its `email` claim, with
// `email_verified` true, signs in to the console through the platform's issuer or through an
// identity provider of the account's organisation, the user is granted the role here (and
// below, with inherit), as `kubectl mesh grant` would, and the invite becomes Accepted with
// the user's name. The grant is made with the rights of the user who created the invite,
// checked again at acceptance: an invite can grant nothing its inviter could not. Deleting a
// pending invite revokes it; an expired one grants nothing. The spec cannot be changed.
type Invite struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says whom to invite and to what.
	// +required
	Spec InviteSpec `json:"spec"`

	// status says whether the invite was accepted, and by whom.
	// +optional
	Status InviteStatus `json:"status,omitempty"`
}

// InviteSpec says whom to invite and to what. It is immutable.
type InviteSpec struct {
	// email is the invited address, stored in lower case; the user's ID token must carry it,
	// verified, in its email claim.
	// +required
	Email string `json:"email"`

	// role is the name of the ClusterRole granted in the invite's account, e.g. view, edit or
	// admin.
	// +required
	Role string `json:"role"`

	// inherit grants the role in the accounts below too.
	// +optional
	Inherit bool `json:"inherit,omitempty"`

	// expiresAt is when the invite stops granting anything; seven days after its creation
	// when not set. It must be in the future when the invite is created.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// inviter is the user who created the invite, recorded by the server (whatever a request
	// says); the grant is made with this user's rights.
	// +optional
	Inviter InviteUser `json:"inviter,omitempty"`
}

// InviteUser is a user as the server authenticated them.
type InviteUser struct {
	// username is the user's name.
	// +optional
	Username string `json:"username,omitempty"`

	// uid is the user's UID.
	// +optional
	UID string `json:"uid,omitempty"`

	// groups are the user's groups.
	// +optional
	// +listType=atomic
	Groups []string `json:"groups,omitempty"`

	// extra are the user's extra attributes.
	// +optional
	Extra map[string]ExtraValue `json:"extra,omitempty"`
}

// ExtraValue holds the values of one extra attribute of a user, in order.
type ExtraValue []string

// InviteStatus says whether an invite was accepted, and by whom.
type InviteStatus struct {
	// phase is Pending, Accepted, Expired or Failed.
	// +optional
	Phase InvitePhase `json:"phase,omitempty"`

	// user is the name of the user who accepted the invite and holds the grant.
	// +optional
	User string `json:"user,omitempty"`

	// acceptedAt is when the invite was accepted.
	// +optional
	AcceptedAt *metav1.Time `json:"acceptedAt,omitempty"`

	// message says why an invite failed or expired.
	// +optional
	Message string `json:"message,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// InviteList is a list of Invites.
type InviteList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the invites.
	Items []Invite `json:"items"`
}
