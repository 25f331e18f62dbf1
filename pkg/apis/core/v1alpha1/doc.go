// Package v1alpha1 holds the core.accountmesh.io/v1alpha1 API: Account, the object in a parent
// account that creates and describes a child account, and AccountInfo, the read-only singleton
// inside every account that says where the account sits in the tree.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.accountmesh.core.v1alpha1
// +groupName=core.accountmesh.io
package v1alpha1
