// Package authentication holds the server's authenticators beyond the upstream ones:
// per-account ServiceAccount tokens (serviceaccount), platform-wide and per-organisation OIDC
// (oidc), and the request filter that authenticates requests for unknown accounts, so that a
// caller cannot tell an account it may not use from one that does not exist.
//
// It must not write to the API; it only reads what its callers give it.
package authentication
