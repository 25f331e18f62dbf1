// Package filters owns the outer HTTP handlers of the server that run around the upstream
// handler chain: resolving /clusters/<path|id> to a cluster ID in the request context (and
// stripping the prefix), answering 404 for unknown accounts once a request is authorized, and
// the Kubernetes-style not-found errors that give one answer for every account a caller may not
// learn about.
//
// It must not decide who may do what (authorization does) nor serve anything itself. Clients
// must not import it: it depends on k8s.io/apiserver.
package filters
