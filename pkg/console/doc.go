// Package console owns the web console served at /console/: its embedded pages (plain HTML,
// CSS and ES modules, no build step), the browser sessions, and the proxy through which the
// pages call the API.
//
// The console holds no credentials of its own. Signing in hands the server a bearer token of
// the user (a ServiceAccount or OIDC ID token); a session, named by a random ID in an
// HttpOnly, Secure, SameSite=Strict cookie, maps to that token in memory. Every API call of the
// pages goes through /console/api/clusters/<account>/..., which the proxy replays through the
// server's own handler chain as a fresh request that carries only that token and a few
// allow-listed headers: authentication, authorization, admission and isolation apply exactly as
// for kubectl, and nothing of the browser's request (cookies, impersonation headers, client
// certificates) reaches the API. Every console API request needs the session's CSRF token in a
// header, and state-changing ones an Origin of the server itself.
//
// Users may also sign in with OpenID Connect (oidc.go): the platform's issuer, with the
// console's own client ID, and the identity providers of the organisation whose path the user
// typed, with their client ID. The server runs the authorization code flow with PKCE, state
// and nonce, exchanges the code itself and starts a session holding the verified ID token,
// which the API then authenticates as any OIDC token; the session ends when it expires. When
// the issuer verified the token's email address, the sign-in first hands the token and address
// to Options.AcceptInvites, which grants that user's Invites (the server decides which, and
// with whose rights).
// GET /console/kubeconfig answers a kubeconfig for the session's user that holds no credential.
//
// Sessions live in the memory of one replica: behind a load balancer over several replicas a
// browser must stick to one (or sign in again where it lands). They end on sign-out, after
// IdleTimeout without use, after MaxAge, or when the API answers 401 to their token.
//
// It must not decide who may do what, nor read or write objects by itself: the API does,
// as the user.
package console
