// Package framework starts real Account Mesh servers for end-to-end tests and gives each test a
// fresh account: the accountmesh binary built from this tree, on a free loopback port, with a
// temporary root directory, driven by the real kubectl binary and real client-go clients.
//
// It must not reach into the server's packages at run time: tests see the server as users do.
package framework
