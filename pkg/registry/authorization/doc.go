// Package authorization serves the virtual, create-only or read-only resources of
// authorization: authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview
// (what `kubectl auth can-i` asks), SubjectAccessReview and LocalSubjectAccessReview (what
// add-ons ask about their callers, answered for the subject as an identity of the request's
// account), and authorization.accountmesh.io/v1alpha1 AccessibleAccount and AccessGrant.
// Everything is computed from the in-memory policy on each request.
//
// It must not store anything and must not decide itself: decisions and rules come from
// pkg/authorization.
package authorization
