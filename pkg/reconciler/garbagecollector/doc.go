// Package garbagecollector owns ownerReference garbage collection inside each account, with
// the background, foreground and orphan propagation policies of Kubernetes:
//
//   - background: once every owner of an object is gone, the object is deleted; owner
//     references to owners that are gone are removed from objects that still have a live owner;
//   - foreground: an owner the server marked with the "foregroundDeletion" finalizer has its
//     dependents deleted (in the foreground too) and loses the finalizer once no dependent
//     blocks its deletion any more;
//   - orphan: an owner marked with the "orphan" finalizer has its owner references removed from
//     every dependent and then loses the finalizer.
//
// It watches the metadata of every deletable resource of all accounts through the wildcard and
// keeps a graph of owners and dependents keyed by account and UID, so that an owner reference
// in one account never matches an object of another. Before deleting an object because its
// owner looks absent, it checks the owner with a live request in that account.
//
// It talks to the server only through clients and must not change anything but owner
// references, its two finalizers, and the objects it collects.
package garbagecollector
