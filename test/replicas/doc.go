// Package replicas holds the end-to-end tests of Account Mesh run as several replicas on one
// etcd cluster: a three-member etcd cluster started in the test process (etcd's own server
// from go.etcd.io/etcd/server/v3, with client TLS) and accountmesh processes on loopback. Each
// test is a mesh of its own under its own --etcd-prefix. It is its own package so that these
// heavier tests do not slow down the shared-server e2e package.
package replicas
