package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of an IdentityProvider.
const (
	// ConditionDiscovery is True when the issuer's discovery document could be fetched and
	// names the configured issuer.
	ConditionDiscovery = "Discovery"
	// ConditionKeys is True when the issuer's signing keys (JWKS) could be fetched.
	ConditionKeys = "Keys"
	// ConditionReady is True when the provider authenticates users: discovery and keys are
	// True.
	ConditionReady = "Ready"
)

// Condition reasons of an IdentityProvider.
const (
	// ReasonFetched means the document was fetched and is valid.
	ReasonFetched = "Fetched"
	// ReasonUnreachable means the issuer could not be reached or answered with an error.
	ReasonUnreachable = "Unreachable"
	// ReasonInvalid means the issuer answered with a document that is not valid.
	ReasonInvalid = "Invalid"
	// ReasonDiscoveryFailed means keys were not fetched because discovery failed.
	ReasonDiscoveryFailed = "DiscoveryFailed"
	// ReasonAuthenticating means the provider authenticates users.
	ReasonAuthenticating = "Authenticating"
	// ReasonNotReady means discovery or keys are not True.
	ReasonNotReady = "NotReady"
	// ReasonConfigurationInvalid means the upstream authenticator refused the configuration.
	ReasonConfigurationInvalid = "ConfigurationInvalid"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// IdentityProvider is an OpenID Connect issuer that an organisation trusts for its own users.
// It can be created only in accounts of type org. Users it authenticates are named
// <usernamePrefix><claim> and may use only the organisation and the accounts below it: their
// tokens are rejected everywhere else. It takes effect without a restart; its status says
// whether the issuer's discovery document and keys could be fetched.
type IdentityProvider struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which issuer to trust and how to map its claims to users.
	// +required
	Spec IdentityProviderSpec `json:"spec"`

	// status says whether the issuer could be reached.
	// +optional
	Status IdentityProviderStatus `json:"status,omitempty"`
}

// IdentityProviderSpec says which issuer to trust and how to map its ID token claims to users.
type IdentityProviderSpec struct {
	// issuerURL is the issuer's HTTPS URL; it must equal the iss claim of its tokens and serve
	// /.well-known/openid-configuration.
	// +required
	IssuerURL string `json:"issuerURL"`

	// clientID is the OAuth client ID that `kubectl mesh login` uses with this issuer. ID
	// tokens must carry it (or one of audiences) in their aud claim.
	// +required
	ClientID string `json:"clientID"`

	// audiences are the accepted aud values of ID tokens; clientID when empty.
	// +optional
	// +listType=set
	Audiences []string `json:"audiences,omitempty"`

	// usernameClaim is the ID token claim that names the user; "sub" when empty.
	// +optional
	UsernameClaim string `json:"usernameClaim,omitempty"`

	// usernamePrefix is prepended to user names. It must start with the organisation's path
	// followed by ":" so that organisation users never collide with platform users or with
	// another organisation's users; "<org-path>:" when empty.
	// +optional
	UsernamePrefix string `json:"usernamePrefix,omitempty"`

	// groupsClaim is the ID token claim that lists the user's groups; no groups when empty.
	// +optional
	GroupsClaim string `json:"groupsClaim,omitempty"`

	// groupsPrefix is prepended to group names, with the same rule and default as
	// usernamePrefix.
	// +optional
	GroupsPrefix string `json:"groupsPrefix,omitempty"`

	// certificateAuthority is a PEM bundle of the CAs that sign the issuer's serving
	// certificate; the host's roots when empty.
	// +optional
	CertificateAuthority string `json:"certificateAuthority,omitempty"`
}

// IdentityProviderStatus says whether the issuer could be reached.
type IdentityProviderStatus struct {
	// observedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Discovery, Keys and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// IdentityProviderList is a list of IdentityProviders.
type IdentityProviderList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the identity providers.
	Items []IdentityProvider `json:"items"`
}
