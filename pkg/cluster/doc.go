// Package cluster owns the identity of accounts: cluster IDs and paths, the URL prefix that
// addresses them, the request-context helpers that carry the cluster of a request, and the
// path → ID index, and the 404 every caller gets for an account it may not learn about.
//
// Clients (kubectl-mesh, the provider SDK) import it, so it must not import the server side
// (k8s.io/apiserver, storage, registries, HTTP filters): the outer /clusters/ handler lives in
// pkg/server/filters. It must not know about storage or registries; they read the cluster from
// the context.
package cluster
