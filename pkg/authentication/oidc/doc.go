// Package oidc authenticates OpenID Connect ID tokens with the upstream JWT authenticator:
// platform-wide issuers from flags or an AuthenticationConfiguration file (Platform), and the
// identity providers that organisations register (Orgs). A user authenticated through an
// organisation's provider is confined to that organisation's subtree: the token is rejected
// for any other account, for the wildcard and for requests without a known account.
//
// It must not read or write the API; the identityprovider controller feeds Orgs.
package oidc
