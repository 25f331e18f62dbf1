// Package rootcacert publishes the CA bundle that clients of an account should trust, the CA
// that signs the server's serving certificate, as the ConfigMap "kube-root-ca.crt" (key ca.crt)
// in every namespace of every account, as upstream's root-ca-cert-publisher does. It creates
// the ConfigMap when a namespace appears, creates it again when it is deleted and puts its
// content back when it is changed; an immutable ConfigMap of that name with other content is
// replaced.
//
// Through pernamespace, it watches the namespaces of all accounts (a shared wildcard informer)
// and the "kube-root-ca.crt" ConfigMaps of all accounts (a wildcard informer selected by name),
// and writes through a client of the namespace's own account only, into that namespace only: the
// account comes from the cluster annotation the server stamps on every object, never from what
// a tenant wrote. It must not write any other object, and nothing in a namespace that is being
// deleted.
package rootcacert
