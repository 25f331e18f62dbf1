// Package apis runs the controllers of apis.accountmesh.io in every account.
//
// The export controller gives each APIExport its identity (a secret key in the provider
// account whose hash it publishes in status) and reports whether its schemas exist and match.
// The binding controller resolves an APIBinding's export once and pins it, claims the exported
// group/resources in the consumer account (pkg/names.Claims, in-memory, so it runs in the
// server process), applies the accepted permission claims and writes the bound resources to
// status, from which pkg/dynamic serves them. On deletion it removes the account's instances of
// the bound resources before releasing its finalizer.
//
// The controllers write status (and the export's identity reference, once); they never serve
// requests, and they never change what a user wrote in a binding's spec. They see what accounts
// serve through the Served interface only and must not import serving packages (pkg/dynamic,
// pkg/storage, pkg/registry, pkg/server).
package apis
