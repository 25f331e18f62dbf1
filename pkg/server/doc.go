// Package server wires Account Mesh together: options, the generic API server configuration,
// storage, the built-in API groups, the account index and the in-process controllers. It follows
// the upstream composition Options → Complete → Validate → Config → Complete → New → Run, with
// the completed configuration private so that it cannot be skipped. Everything up to New is
// free of effects outside the process; Run starts etcd, binds the listener, writes the PKI and
// the admin kubeconfig (run.go), assembles the API server (server.go) and serves it.
//
// It holds wiring only: behaviour lives in the packages it assembles.
package server
