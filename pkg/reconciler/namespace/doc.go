// Package namespace owns namespace deletion in every account. The server creates each
// namespace with the "kubernetes" finalizer; when a namespace is deleted, this controller marks
// it Terminating, deletes every namespaced resource in it that the account's discovery lists,
// waits until each of them is empty, reporting what remains in the namespace's status
// conditions, and finally removes the finalizer so the namespace disappears.
//
// It watches namespaces of all accounts with one wildcard informer and talks to the server only
// through clients, in the account of each namespace. It must not touch anything outside the
// namespaces it finalizes, nor another controller's finalizers.
package namespace
