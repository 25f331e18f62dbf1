// Package cluster owns the identity of accounts at request time: cluster IDs and paths, the
// request-context helpers that carry the cluster of a request, the path → ID index, and the
// outer HTTP handler that resolves /clusters/<path|id> before the upstream handler chain runs.
//
// It must not know about storage or registries; they read the cluster from the context.
package cluster
