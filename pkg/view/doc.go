// Package view owns the provider view of an APIExport:
// /services/export/<provider-path|providerID>/<export>/clusters/<clusterID|*>/... It strips the
// view prefix in front of the cluster handler and puts an Export into the request context, so
// that authentication, authorization, the registries, the dynamic handler and the storage
// decorator see an ordinary /clusters/<id|*> request; it looks up exports, bindings and applied
// permission claims for the authorizer; after authorization it answers 404 for accounts not
// bound to the export (the same answer as for an unknown account) and sets the storage
// restriction of the request; and it ends open view watches when a binding or an accepted
// claim goes away.
//
// Inside a view, consumer accounts are addressed by cluster ID only: a path gets the 404 of an
// unbound account, so a provider learns nothing about consumers' names.
//
// It must not serve anything itself, and must not decide what is bound: the dynamic index and
// the binding controller do.
package view
