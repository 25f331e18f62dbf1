// Package rbac holds the storage and validation of the rbac.authorization.k8s.io/v1 resources
// served in every account: roles, rolebindings, clusterroles and clusterrolebindings.
// Validation and the defaults applied on decode mirror a real cluster.
//
// It only stores and validates: it must not authorize requests, check for privilege
// escalation, aggregate cluster roles or know about clusters; those belong to the authorizer,
// controllers and pkg/storage.
package rbac
