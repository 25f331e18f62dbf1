// Package storageversionmigration runs the controller that carries out the
// StorageVersionMigrations of every account: it rewrites each object of the named resource in
// that account, unchanged, so that the server stores it again in the resource's current
// storage version, and reports the outcome in the migration's conditions.
//
// A migration first records, in status.resourceVersion, the resource version of a list of the
// resource; it then writes every object listed at or below it with an empty merge patch that
// carries the object's resource version as a precondition. An object changed or deleted since
// is skipped: its newer write stored it in the current version already. An unchanged object
// costs no write, as the server skips writes that leave the stored bytes alone.
//
// It works through the account's own API, as the server's controllers do, so it reaches only
// the objects of the migration's account, of resources that account serves and stores.
package storageversionmigration
