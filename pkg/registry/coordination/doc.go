// Package coordination holds the storage and validation of coordination.k8s.io/v1 leases,
// which controllers use for leader election and heartbeats.
//
// It only stores and validates: it must not elect leaders or know about clusters; isolation
// lives in pkg/storage.
package coordination
