// Package dynamic serves custom resources per account: the CustomResourceDefinitions of every
// account are indexed by (account, group, resource), and requests under /apis/<group>/ that no
// built-in group serves are answered from the CRD of the request's account.
//
// What is expensive (structural schemas, compiled CEL rules, validators, the server-side apply
// type converter, request scopes) is built once per CRD identity, the hash of a CRD's spec and
// accepted names, and shared by every account whose CRD has that identity. Objects are stored
// by one schema-free storage per group/resource (etcd, watch cache and pkg/storage's key
// rewriter), shared by every account and identity; a per-identity schema layer on top converts,
// prunes and defaults on the way in and out, so that accounts with different schemas for the
// same group/resource each see their own.
//
// Upstream's building blocks do the work: apiextensions' custom resource storage and strategy
// (validation, CEL, status and scale), its structural schema, pruning and defaulting packages,
// the generic request handlers and managed fields. This package writes only the codec layer
// that upstream keeps unexported, the routing and the sharing.
//
// Under a provider view (pkg/view) it serves only resources bound from the view's export: in an
// account, the account's entry if that export binds it; at /clusters/*, the export's current
// schema over the export's storage prefix, whose storage restriction selects the bound accounts.
//
// At /clusters/*, a list or watch that asks for metadata only is served across schemas: of a
// resource in every account that defines it with a CRD, or, named <resource>:<identityHash>, of
// one in every account that binds it from that export (metadata.go). The garbage collector
// watches custom resources that way.
//
// It must not write CRDs (their conditions belong to pkg/reconciler/crd) and must not serve a
// custom resource to an account whose own CRD does not define it.
package dynamic
