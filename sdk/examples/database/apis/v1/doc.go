// Package v1 holds the Go types of the example Database API (db.example.com/v1) that the
// example provider reconciles in its consumers' accounts. The schema the server serves is the
// APIResourceSchema in ../../config; these types must stay compatible with it.
//
// It holds types only; the controller is the example's main package.
//
// +k8s:deepcopy-gen=package
// +groupName=db.example.com
package v1
