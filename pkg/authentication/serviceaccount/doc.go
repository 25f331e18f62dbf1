// Package serviceaccount issues and verifies ServiceAccount tokens: JWTs signed with the
// server's ServiceAccount key, carrying the upstream claims (iss, sub, aud, exp, iat, nbf,
// kubernetes.io) and the cluster ID of the account the ServiceAccount lives in. A token is
// valid only in its own account and only while its ServiceAccount exists with the same UID.
//
// It must not write the API; it reads ServiceAccounts only through the Getter it is given
// (StorageGetter adapts the server's in-process storage).
package serviceaccount
