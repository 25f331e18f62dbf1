// Package v1alpha1 holds the apis.accountmesh.io/v1alpha1 API, through which providers offer
// APIs to other accounts: APIResourceSchema (an immutable schema of one resource), APIExport
// (the resources a provider publishes) and APIBinding (a consumer's request to serve an
// export's resources in its own account). All three are cluster-scoped.
//
// It holds types only; validation lives in pkg/registry/apis, and the controllers that set
// the status of exports and bindings live in pkg/reconciler.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.accountmesh.apis.v1alpha1
// +groupName=apis.accountmesh.io
package v1alpha1
