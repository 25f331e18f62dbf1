// Package accountns gives upstream's admission machinery (the policy matcher, the webhook
// plugins) the namespaces of one account: read from the server's cache, and through a client of
// that account only for the namespaces the cache misses.
//
// It must not read another account's namespaces: every lister and client it returns is bound to
// the account it was made for.
package accountns

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Cache holds the namespaces of every account.
type Cache interface {
	// Cached returns a namespace of account id from a cache, if it is there.
	Cached(id cluster.ID, name string) (*corev1.Namespace, bool)
}

// Clients returns core clients of an account, for the namespaces the cache misses.
type Clients interface {
	CoreV1(c string) corev1client.CoreV1Interface
}

// ClientsFunc is a function that is Clients.
type ClientsFunc func(c string) corev1client.CoreV1Interface

// CoreV1 implements Clients.
func (f ClientsFunc) CoreV1(c string) corev1client.CoreV1Interface { return f(c) }

// Lister returns a namespace lister of account id over the cache. It only gets: upstream's
// matchers never list.
func Lister(c Cache, id cluster.ID) corev1listers.NamespaceLister {
	return lister{cache: c, id: id}
}

// Client returns a client of account id that serves only CoreV1, for the namespaces the cache
// misses; every other group of it is nil.
func Client(c Clients, id cluster.ID) kubernetes.Interface {
	return client{clients: c, id: id}
}

type lister struct {
	cache Cache
	id    cluster.ID
}

// List implements corev1listers.NamespaceLister; the matchers do not list.
func (l lister) List(labels.Selector) ([]*corev1.Namespace, error) {
	return nil, errors.New("listing namespaces is not supported")
}

// Get implements corev1listers.NamespaceLister.
func (l lister) Get(name string) (*corev1.Namespace, error) {
	if ns, ok := l.cache.Cached(l.id, name); ok {
		return ns, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
}

type client struct {
	kubernetes.Interface
	clients Clients
	id      cluster.ID
}

// CoreV1 implements kubernetes.Interface.
func (c client) CoreV1() corev1client.CoreV1Interface { return c.clients.CoreV1(string(c.id)) }
