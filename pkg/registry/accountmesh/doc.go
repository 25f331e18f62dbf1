// Package accountmesh holds the storage of the core.accountmesh.io API: Account, stored like
// any typed resource, whose strategy assigns the child account's cluster ID, path and URL on
// create; and AccountInfo, a virtual read-only singleton computed from the account index, so it
// costs no storage and cannot be changed or deleted by anyone.
//
// It must not run controllers; the account lifecycle lives in pkg/reconciler/account.
package accountmesh
