// Package core holds the storage and validation of the legacy core v1 resources served in every
// account: namespaces, configmaps, secrets, serviceaccounts and events. Validation mirrors what
// a real cluster enforces for these types, and the defaults a real cluster applies on decode
// are set while preparing objects, since the served types have no defaulting functions.
//
// Namespaces are deleted in two steps, as upstream: DELETE marks a namespace Terminating, and it
// leaves storage once its spec finalizers (changed only through the finalize subresource) and
// metadata finalizers are empty. New namespaces get the spec finalizer NamespaceFinalizer;
// removing it, after deleting a namespace's content, is the namespace controller's job, not
// this package's.
//
// It must not know about clusters; isolation lives in pkg/storage.
package core
