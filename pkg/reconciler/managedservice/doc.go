// Package managedservice connects the consumers of managed services (APIExports with
// spec.service) to their providers, in every account.
//
// The shadow account controller keeps, for every pair of provider account and consumer
// organisation with at least one APIBinding to a managed service of that provider, one shadow
// account inside the provider account: an Account of the reserved type shadow, named after the
// organisation's cluster ID (creation is idempotent, so a crash between steps converges),
// labelled accountmesh.io/consumer-org and annotated with the exports the organisation binds.
// When the last such binding goes, or the organisation does, it deletes the shadow account
// through normal account deletion (terminators run first). An account of that name that is not
// the platform's shadow account is never adopted. Once the shadow account is Ready, it keeps
// there one ServiceInstance per Dedicated service the organisation binds, named after the
// export, and deletes those of services it no longer binds.
//
// The tenant space controller gives each binding to a managed service a namespace in the
// consumer account, named after the export and labelled accountmesh.io/tenant-space with the
// binding's name, owned by the binding (the garbage collector removes it after the binding). A
// namespace of that name that is not the binding's is reported as TenantSpaceConflict and left
// alone. It writes status.shadowAccount, status.tenantSpace and the ServiceConnected condition,
// and for Dedicated services InstanceReady, from the Ready condition the provider reports on
// the organisation's ServiceInstance.
//
// It only writes Accounts, namespaces, ServiceInstances and binding status through the typed
// clients, and must not import serving packages (pkg/dynamic, pkg/storage, pkg/registry,
// pkg/server).
package managedservice
