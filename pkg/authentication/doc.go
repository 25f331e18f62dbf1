// Package authentication holds the server's authenticators beyond the upstream ones:
// per-account ServiceAccount tokens (serviceaccount) and platform-wide and per-organisation OIDC
// (oidc). Requests for unknown accounts are authenticated like any other (pkg/server/filters
// lets them through the chain), so a caller cannot tell an account it may not use from one
// that does not exist. It also reserves the accountmesh: group prefix: WithoutReservedGroups
// drops such groups from every authenticated user, so only the server adds them (the bind
// check's consumer-account groups).
//
// It must not write to the API; it only reads what its callers give it.
package authentication
