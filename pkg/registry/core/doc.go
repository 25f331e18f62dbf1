// Package core holds the storage and validation of the legacy core v1 resources served in every
// account: namespaces, configmaps, secrets, serviceaccounts and events. Validation mirrors what
// a real cluster enforces for these types.
//
// It must not know about clusters; isolation lives in pkg/storage.
package core
