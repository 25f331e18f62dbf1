// Package openapi holds the generated OpenAPI definitions of every type the server serves, and
// Definitions, which adds the ones upstream generates for apiextensions.k8s.io.
package openapi
