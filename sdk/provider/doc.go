// Package provider lets controller-runtime controllers, written with multicluster-runtime,
// reconcile objects in every consumer account bound to an APIExport, through the export's
// provider view (https://HOST/services/export/<provider>/<export>/clusters/<id|*>/...).
//
// A Provider implements multicluster.Provider and multicluster.ProviderRunnable. It watches
// the view's apibindings and engages a consumer account (a multicluster.ClusterName equal to
// the account's cluster ID) while one of its bindings is Bound or unbinding (so that finalizers
// on the account's instances can run while the binding deletes them), and disengages it when the
// binding goes. Each resource is watched once, across all consumers, by a shared informer
// on the view's wildcard; the per-account clusters read that informer through an index on the
// accountmesh.io/cluster annotation, and a dispatcher hands every event to the handlers of its
// account only, so the cost of an event does not grow with the number of consumers. Writes go
// to /clusters/<id> of the view, so they land in the right account.
//
// For a managed service, Service reports the shadow account and tenant spaces of an engaged
// account from its bindings' status, and AccountConfig addresses an account outside the view
// (the shadow account, where the provider's ServiceAccount is admin) with the same credentials.
//
// The shared informers are pkg/client's cluster-keyed informers, not controller-runtime's
// cache: client-go's shared informer keys its store by namespace/name, which would merge the
// objects of different accounts that have the same name (every consumer's default/orders).
//
// The package owns only client-side state; it must not assume anything about the server
// beyond the view's HTTP API, and it must not import server packages other than the API types
// and the cluster-keyed informer of pkg/client.
package provider
