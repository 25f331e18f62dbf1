// Package pernamespace runs the controllers that keep an object in every namespace of every
// account, such as the default ServiceAccount: it queues a namespace when it appears or
// changes and when one of the kept objects in it changes or goes, and calls the controller's
// Ensure for each queued namespace that exists and is not being deleted. The key of a
// namespace, <cluster>|<name>, comes from the cluster annotation the server stamps on every
// object, so a controller built on it is only ever asked to work in the namespace's own
// account.
//
// It knows nothing of the kept objects beyond their informer; what to keep and how to write
// it belongs to each controller's package. It must not import serving packages.
package pernamespace
