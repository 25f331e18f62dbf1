// Package namespace owns namespace deletion in every account. The server creates each
// namespace with the "kubernetes" spec finalizer; when a namespace is deleted, this controller
// marks it Terminating, deletes every namespaced resource in it that the account's discovery
// lists, waits until each of them is empty, reporting what remains in the namespace's status
// conditions, and finally removes the finalizer through the namespace's finalize subresource,
// upon which the server deletes the namespace once no other finalizer is left. Namespaces
// created by earlier versions carry a "kubernetes" metadata finalizer instead: an active one
// gets the spec finalizer in its place; a deleted one is emptied the same way and released by
// removing that finalizer with an update.
//
// It watches namespaces of all accounts through a shared wildcard informer and talks to the
// server only through clients, in the account of each namespace. It must not touch anything
// outside the namespaces it finalizes, nor another controller's finalizers.
package namespace
