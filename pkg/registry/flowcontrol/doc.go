// Package flowcontrol holds the storage, defaulting and validation of
// flowcontrol.apiserver.k8s.io/v1 FlowSchemas and PriorityLevelConfigurations, which configure
// API priority and fairness.
//
// It only stores and validates: the objects are the platform's, kept in the root account
// (pkg/server routes every account's requests for them there), and pkg/flowcontrol applies them.
package flowcontrol
