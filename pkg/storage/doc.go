// Package storage is the isolation boundary between accounts. It decorates the upstream
// storage.Interface so that every key carries the cluster ID of the request
// (/registry/<group>/<resource>/<clusterID>/[<namespace>/]<name>), stamps the cluster
// annotation on every object it writes, and gives the watch cache a key function that reads
// that annotation, so one watch cache per resource serves all accounts. A Restriction in the
// request context (set by the provider view) further limits every verb to member accounts,
// a label selector and an object filter: hidden objects read as not found, and writes that
// would leave the selector are forbidden.
//
// It must not resolve paths or know about accounts beyond the cluster ID in the context.
package storage
