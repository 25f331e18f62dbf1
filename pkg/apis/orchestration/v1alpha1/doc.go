// Package v1alpha1 holds the orchestration.accountmesh.io/v1alpha1 API: OrchestrationContext,
// a group of related objects, possibly in several accounts, with dependencies between them
// and a rolled-up status. The platform never drives the members; it reports their readiness
// and publishes each member's dependency gate for the member's own controller.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.accountmesh.orchestration.v1alpha1
// +groupName=orchestration.accountmesh.io
package v1alpha1
