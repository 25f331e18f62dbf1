// Package storagemigration serves storagemigration.k8s.io/v1 StorageVersionMigrations in every
// account: a request to rewrite every object of one resource of the account, so that each is
// stored again in the resource's current storage version (for example after a CRD changed
// its storage version). The spec is fixed at creation; the migration controller
// (pkg/reconciler/storageversionmigration) reports progress in status.
package storagemigration
