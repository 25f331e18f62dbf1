// Package v1alpha1 holds the marketplace.accountmesh.io/v1alpha1 API: MarketplaceEntry, the
// computed, read-only catalog of the exports a caller may bind in an account. Entries are never
// stored: the server computes them per request from the exports, the caller's bind rights and
// the account's bindings.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.accountmesh.marketplace.v1alpha1
// +groupName=marketplace.accountmesh.io
package v1alpha1
