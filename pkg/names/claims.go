// Package names arbitrates who serves each group/resource of an account: one
// CustomResourceDefinition of the account, or the APIBindings of one export identity, which
// co-own it. The first claim wins; the owner keeps the name until it releases it. The CRD and
// binding controllers claim names before they accept them; the serving index claims again what
// it learns from accepted CRDs and bound resources after a restart.
//
// Claims live in memory, in the server process. This package must not import serving packages
// (pkg/dynamic, pkg/storage, pkg/registry, pkg/server) or controllers: both sides import it.
package names

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Kinds of owners of a resource in an account.
const (
	OwnerCRD     = "CustomResourceDefinition"
	OwnerBinding = "APIBinding"
)

// Owner is what serves a group/resource in an account: a CRD, or APIBindings of one export
// identity.
type Owner struct {
	// Kind is OwnerCRD or OwnerBinding.
	Kind string
	// Name is the CRD's or the binding's name.
	Name string
	// IdentityHash is the export identity of a binding.
	IdentityHash string
}

// Claims holds the owners of the group/resources of every account. It is safe for concurrent
// use; the zero value is not: use NewClaims.
type Claims struct {
	mu     sync.RWMutex
	claims map[cluster.ID]map[schema.GroupResource]*claim
}

// NewClaims returns claims without owners.
func NewClaims() *Claims {
	return &Claims{claims: map[cluster.ID]map[schema.GroupResource]*claim{}}
}

// claim is the owner of a group/resource in an account: one CRD, or the bindings of one
// export identity, which co-own it.
type claim struct {
	kind, identityHash string
	// names are the owners' names, sorted.
	names []string
}

func (c *claim) owner() Owner {
	return Owner{Kind: c.kind, Name: c.names[0], IdentityHash: c.identityHash}
}

// admits reports whether o may own the claimed resource too.
func (c *claim) admits(o Owner) bool {
	if c.kind != o.Kind {
		return false
	}
	if o.Kind == OwnerBinding {
		return o.IdentityHash != "" && o.IdentityHash == c.identityHash
	}
	return slices.Contains(c.names, o.Name)
}

// Claim makes o an owner of gr in account id, unless another owner holds it: a CRD, or bindings
// of another export identity. Bindings of one identity co-own a resource. It returns the current
// owner and whether o owns gr now. The first claim wins; owners release with Release.
func (x *Claims) Claim(id cluster.ID, gr schema.GroupResource, o Owner) (Owner, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.claims[id]
	if m == nil {
		m = map[schema.GroupResource]*claim{}
		x.claims[id] = m
	}
	c, ok := m[gr]
	if !ok {
		m[gr] = &claim{kind: o.Kind, identityHash: o.IdentityHash, names: []string{o.Name}}
		return o, true
	}
	if !c.admits(o) {
		return c.owner(), false
	}
	if i, found := slices.BinarySearch(c.names, o.Name); !found {
		c.names = slices.Insert(c.names, i, o.Name)
	}
	return c.owner(), true
}

// Owner returns the owner of gr in account id, if any.
func (x *Claims) Owner(id cluster.ID, gr schema.GroupResource) (Owner, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.claims[id][gr]
	if !ok {
		return Owner{}, false
	}
	return c.owner(), true
}

// Release ends o's ownership of gr in account id. Releasing what o does not own does nothing.
func (x *Claims) Release(id cluster.ID, gr schema.GroupResource, o Owner) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.claims[id][gr]
	if !ok || c.kind != o.Kind {
		return
	}
	i, found := slices.BinarySearch(c.names, o.Name)
	if !found {
		return
	}
	c.names = slices.Delete(c.names, i, i+1)
	if len(c.names) > 0 {
		return
	}
	delete(x.claims[id], gr)
	if len(x.claims[id]) == 0 {
		delete(x.claims, id)
	}
}
