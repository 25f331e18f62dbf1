// Package conformance runs the upstream Kubernetes e2e tests of sig-api-machinery and sig-auth
// against one account of a running Account Mesh. It is its own module, so that the main module
// does not depend on k8s.io/kubernetes; `make conformance` builds and runs it (see run.sh).
package conformance
