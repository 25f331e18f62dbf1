// Package cli implements the commands of the kubectl plugin `kubectl mesh`: switching the
// kubeconfig between accounts (use, current), creating accounts (create) and drawing the
// account tree (tree).
//
// Each command is an Options type with BindFlags, Complete, Validate and Run; cmd/kubectl-mesh
// only builds the cobra tree around them. The package talks to the server like any client,
// through the public API, and reads the account model as unstructured objects so that it does
// not depend on the server's Go types. It must not import server packages.
package cli
