package view

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// byIdentity indexes bindings by "<identityHash>" and "<clusterID>|<identityHash>".
const byIdentity = "accountmesh.io/view-identity"

// Bound says which accounts serve resources bound from an export; the dynamic index is one.
type Bound interface {
	// BoundTo reports whether account id serves a resource bound from the export with
	// identityHash.
	BoundTo(id cluster.ID, identityHash string) bool
	// ServesBound reports whether the view of export e serves resource gr in account id,
	// bound there with the export's identity; at the wildcard, from the export's schema.
	ServesBound(id cluster.ID, e *apisv1alpha1.APIExport, gr schema.GroupResource) bool
}

// Stores are the caches of the shared informers over APIExports and APIBindings in all
// accounts, keyed by client.ClusterKey.
type Stores interface {
	Store() cache.Indexer
}

// Exports answers what the view needs to know about exports, bindings and claims, from the
// shared informers' caches. The zero value knows no export until Init. It is safe for
// concurrent use once initialized.
type Exports struct {
	exports, bindings cache.Indexer
	bound             Bound
}

// Init sets the caches of exports and bindings to read. It adds an index to the bindings'
// cache, so it must be called before the informer runs, and before the server serves.
func (x *Exports) Init(exports, bindings Stores, bound Bound) error {
	if err := bindings.Store().AddIndexers(cache.Indexers{byIdentity: func(obj interface{}) ([]string, error) {
		b, ok := obj.(*apisv1alpha1.APIBinding)
		if !ok || b.Status.IdentityHash == "" {
			return nil, nil
		}
		return []string{b.Status.IdentityHash, b.Annotations[corev1alpha1.ClusterAnnotation] + "|" + b.Status.IdentityHash}, nil
	}}); err != nil {
		return fmt.Errorf("failed to index APIBindings by export identity: %w", err)
	}
	x.exports, x.bindings, x.bound = exports.Store(), bindings.Store(), bound
	return nil
}

// Get returns the APIExport name of the provider account, when it exists and has an identity.
func (x *Exports) Get(provider cluster.ID, name string) (*apisv1alpha1.APIExport, bool) {
	if x.exports == nil {
		return nil, false
	}
	obj, ok, err := x.exports.GetByKey(client.ToClusterKey(provider, "", name))
	if err != nil || !ok {
		return nil, false
	}
	e, ok := obj.(*apisv1alpha1.APIExport)
	return e, ok && e.Status.IdentityHash != ""
}

// Bound reports whether account id serves resources of the export with identityHash.
func (x *Exports) Bound(id cluster.ID, identityHash string) bool {
	return x.bound.BoundTo(id, identityHash)
}

// ServesBound reports whether the view of export e serves resource gr in account id. This, not
// the export's list of resources, says what its view may serve: bindings bind, and views
// serve, only schemas, which never name a built-in group, so a view never reaches a built-in
// resource as an exported one.
func (x *Exports) ServesBound(id cluster.ID, e *apisv1alpha1.APIExport, gr schema.GroupResource) bool {
	return x.bound.ServesBound(id, e, gr)
}

// HasBindings reports whether any account binds the export with identityHash.
func (x *Exports) HasBindings(identityHash string) bool {
	if x.bindings == nil {
		return false
	}
	objs, err := x.bindings.ByIndex(byIdentity, identityHash)
	return err == nil && len(objs) > 0
}

// ClaimApplied reports whether a binding of the export with identityHash in account id has
// the claim among its applied permission claims.
func (x *Exports) ClaimApplied(id cluster.ID, identityHash string, c *apisv1alpha1.PermissionClaim) bool {
	objs, err := x.bindings.ByIndex(byIdentity, string(id)+"|"+identityHash)
	if err != nil {
		return false
	}
	for _, obj := range objs {
		b, ok := obj.(*apisv1alpha1.APIBinding)
		if !ok {
			continue
		}
		if slices.ContainsFunc(b.Status.AppliedPermissionClaims, func(a apisv1alpha1.PermissionClaim) bool { return sameClaim(&a, c) }) {
			return true
		}
	}
	return false
}

// TenantSpace reports whether namespace ns of account id is the tenant space of a binding of
// the export with identityHash there: where the provider writes its related resources.
func (x *Exports) TenantSpace(id cluster.ID, identityHash, ns string) bool {
	if x.bindings == nil || ns == "" {
		return false
	}
	objs, err := x.bindings.ByIndex(byIdentity, string(id)+"|"+identityHash)
	if err != nil {
		return false
	}
	for _, obj := range objs {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok && b.Status.TenantSpace != nil && b.Status.TenantSpace.Namespace == ns {
			return true
		}
	}
	return false
}

// sameClaim reports whether two claims are the same, compared semantically as the binding
// controller does.
func sameClaim(a, b *apisv1alpha1.PermissionClaim) bool {
	return equality.Semantic.DeepEqual(*a, *b)
}

// ExportedResource returns the export's resource group/resource, and false if it exports no
// such resource.
func ExportedResource(e *apisv1alpha1.APIExport, group, resource string) bool {
	return slices.ContainsFunc(e.Spec.Resources, func(r apisv1alpha1.ExportedResource) bool {
		return r.Group == group && r.Name == resource
	})
}

// Claim returns the export's permission claim of a built-in group/resource, nil if it has
// none.
func Claim(e *apisv1alpha1.APIExport, group, resource string) *apisv1alpha1.PermissionClaim {
	for i := range e.Spec.PermissionClaims {
		c := &e.Spec.PermissionClaims[i]
		if c.Group == group && c.Resource == resource && c.IdentityHash == "" {
			return c
		}
	}
	return nil
}

// Related reports whether export e is a managed service that writes group/resource back into
// tenant spaces.
func Related(e *apisv1alpha1.APIExport, group, resource string) bool {
	return e.Spec.Service != nil && slices.ContainsFunc(e.Spec.Service.RelatedResources, func(r apisv1alpha1.RelatedResource) bool {
		return r.Group == group && r.Resource == resource
	})
}

// ClaimAllows reports whether a claim's verbs contain verb.
func ClaimAllows(c *apisv1alpha1.PermissionClaim, verb string) bool {
	return slices.Contains(c.Verbs, verb) || slices.Contains(c.Verbs, "*")
}

// BuiltinResources returns which built-in resources the view of export e serves: apibindings,
// the claimed resources and a managed service's related resources.
func BuiltinResources(e *apisv1alpha1.APIExport) func(group, resource string) bool {
	return func(group, resource string) bool {
		return group == apisv1alpha1.GroupName && resource == "apibindings" || Claim(e, group, resource) != nil || Related(e, group, resource)
	}
}

// OnExportDeleted calls f with the identity hash of every deleted APIExport.
func OnExportDeleted(exports interface {
	AddInlineEventHandler(cache.ResourceEventHandler)
}, f func(identityHash string)) {
	exports.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj interface{}) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		if e, ok := obj.(*apisv1alpha1.APIExport); ok && e.Status.IdentityHash != "" {
			f(e.Status.IdentityHash)
		}
	}})
}
