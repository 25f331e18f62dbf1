// Package v1alpha1 holds the iam.accountmesh.io/v1alpha1 API: IdentityProvider, an OpenID
// Connect issuer that an organisation trusts for its own users.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.accountmesh.iam.v1alpha1
// +groupName=iam.accountmesh.io
package v1alpha1
