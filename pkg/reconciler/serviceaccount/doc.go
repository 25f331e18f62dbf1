// Package serviceaccount makes sure that every namespace of every account has the ServiceAccount
// "default", as upstream's serviceaccounts controller does: it creates it when a namespace
// appears and again whenever it is deleted. It does not change an existing "default"
// ServiceAccount.
//
// Through pernamespace, it watches the namespaces of all accounts (a shared wildcard informer)
// and the "default" ServiceAccounts of all accounts (a wildcard informer over their metadata,
// selected by name), and writes through a client of the namespace's own account only, into that namespace only:
// the account comes from the cluster annotation the server stamps on every object, never from
// what a tenant wrote. It must not write anything but ServiceAccounts named "default", and none
// in a namespace that is being deleted.
package serviceaccount
