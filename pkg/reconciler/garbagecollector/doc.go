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
// Built-in resources, which every account serves, are watched from the start. Custom resources
// are watched while the shared informers of CRDs and APIBindings show an account serving them,
// one watch per storage whatever the number of accounts: the metadata of a group/resource in
// every account that defines it with a CRD, whatever its schema
// (/clusters/*/apis/<group>/<version>/<resource>), and of one bound from an export in every
// account that binds it (<resource>:<identityHash>); see pkg/dynamic's metadata.go. Each
// account's objects are addressed as that account serves them (its CRD, or its binding's
// schema). A kind in an owner reference resolves through the built-ins or the discovery of the
// dependent's account only: a kind that account does not serve keeps the dependent, as an
// unknown kind does upstream, whatever other accounts define. Owners deleted in the foreground
// or with orphan wait until every watch has listed once, so that none of their dependents is
// missed.
//
// It talks to the server only through clients and must not change anything but owner
// references, its two finalizers, and the objects it collects.
package garbagecollector
