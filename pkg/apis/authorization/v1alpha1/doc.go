// Package v1alpha1 holds the authorization.accountmesh.io/v1alpha1 API: read-only virtual
// resources computed from the authorization policy, never stored. AccessibleAccount lists the
// accounts the caller can access; AccessGrant lists who holds which role in an account,
// inherited grants included; EffectivePolicy and EffectiveWebhook list the admission policies
// and webhook configurations that apply in an account, inherited ones included.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.accountmesh.authorization.v1alpha1
// +groupName=authorization.accountmesh.io
package v1alpha1
