// Package marketplace serves marketplace.accountmesh.io: MarketplaceEntries, the exports a
// caller may bind in an account, computed for each request and never stored. An entry exists
// for the caller exactly when binding the export from this account would pass the bind check
// of pkg/registry/apis (MayBind, with the caller's identity and the account's groups), so that
// an export the caller may not bind leaks neither its name nor its existence: Get answers 404
// as for a name that was never anything. Watches recompute the caller's entries whenever
// exports, bindings, RBAC or accounts change (Notifier) and send the difference.
//
// It reads exports, bindings and accounts from the server's caches through Deps; it must not
// write anything, nor look at other accounts than the request's except to read the exports.
package marketplace
