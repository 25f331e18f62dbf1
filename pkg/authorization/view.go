package authorization

import (
	"context"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// Views is what deciding provider view requests needs: exports and applied claims.
type Views interface {
	// Get returns the APIExport name of the provider account, when it exists and has an
	// identity.
	Get(provider cluster.ID, name string) (*apisv1alpha1.APIExport, bool)
	// ClaimApplied reports whether a binding of the export with identityHash in account id
	// applies the claim.
	ClaimApplied(id cluster.ID, identityHash string, c *apisv1alpha1.PermissionClaim) bool
	// ServesBound reports whether the view of export e serves resource gr in account id,
	// bound there with the export's identity; at the wildcard, from the export's schema.
	ServesBound(id cluster.ID, e *apisv1alpha1.APIExport, gr schema.GroupResource) bool
	// Bound reports whether account id serves any resource bound from the export with
	// identityHash.
	Bound(id cluster.ID, identityHash string) bool
	// TenantSpace reports whether namespace ns of account id is the tenant space of a binding
	// of the export with identityHash.
	TenantSpace(id cluster.ID, identityHash, ns string) bool
}

// viewReadVerbs are the verbs the view allows on apibindings.
var viewReadVerbs = []string{"get", "list", "watch"}

// authorizeView decides a request through the provider view v (design 4.3). The caller needs
// the request's verb on apiexports/content of the export in the provider account (get for
// discovery and version), and the resource must be exported (with its status and scale), the
// read-only apibindings, a managed service's related resource in a tenant space of the
// export's bindings, or a claimed built-in resource whose claim allows the verb and, in a
// concrete account, is applied there. The consumer account's own RBAC is not consulted: the
// consumer granted access by binding and accepting claims. Denials carry no reason.
func (z *Authorizer) authorizeView(ctx context.Context, v view.Export, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if z.views == nil {
		return authorizer.DecisionDeny, "", nil
	}
	e, ok := z.views.Get(v.ProviderID, v.Name)
	if !ok {
		return authorizer.DecisionDeny, "", nil
	}
	verb := a.GetVerb()
	if strings.HasPrefix(verb, "impersonate") {
		// Nobody is impersonated through a view: the view is not an account.
		return authorizer.DecisionDeny, "", nil
	}
	if !a.IsResourceRequest() {
		if verb != "get" || !viewDiscoveryPath(a.GetPath()) {
			return authorizer.DecisionDeny, "", nil
		}
	}
	content := authorizer.AttributesRecord{
		User: a.GetUser(), Verb: verb, APIGroup: apisv1alpha1.GroupName, APIVersion: apisv1alpha1.SchemeGroupVersion.Version,
		Resource: "apiexports", Subresource: "content", Name: v.Name, ResourceRequest: true,
	}
	reason, ok := z.policy.allows(a.GetUser(), v.ProviderID, content)
	if !ok {
		return authorizer.DecisionDeny, "", nil
	}
	if !a.IsResourceRequest() || viewResourceAllowed(ctx, z.views, e, a) {
		return authorizer.DecisionAllow, reason, nil
	}
	return authorizer.DecisionDeny, "", nil
}

// viewResourceAllowed reports whether the view of export e serves a's resource and verb.
func viewResourceAllowed(ctx context.Context, views Views, e *apisv1alpha1.APIExport, a authorizer.Attributes) bool {
	group, resource, sub := a.GetAPIGroup(), a.GetResource(), a.GetSubresource()
	id, _ := cluster.FromContext(ctx)
	if view.ExportedResource(e, group, resource) {
		// Served only where a binding bound it with the export's identity: never on the
		// export's word, which could name any group. An account not bound to the export at
		// all gets the view's 404 (pkg/view), the same as an unknown one.
		if sub != "" && sub != "status" && sub != "scale" {
			return false
		}
		return views.ServesBound(id, e, schema.GroupResource{Group: group, Resource: resource}) ||
			id != cluster.Wildcard && !views.Bound(id, e.Status.IdentityHash)
	}
	if group == apisv1alpha1.GroupName && resource == "apibindings" {
		return sub == "" && slices.Contains(viewReadVerbs, a.GetVerb())
	}
	if view.Related(e, group, resource) {
		// Only in a tenant space of the export's bindings, whatever the namespace's name
		// says: 403 anywhere else, existing or not. At the wildcard, reads only; storage
		// keeps what lies outside tenant spaces out of them.
		if sub != "" {
			return false
		}
		if id == cluster.Wildcard {
			return a.GetNamespace() == "" && slices.Contains(viewReadVerbs, a.GetVerb())
		}
		return views.TenantSpace(id, e.Status.IdentityHash, a.GetNamespace())
	}
	c := view.Claim(e, group, resource)
	if c == nil || sub != "" || !view.ClaimAllows(c, a.GetVerb()) {
		return false
	}
	return id == cluster.Wildcard || views.ClaimApplied(id, e.Status.IdentityHash, c)
}

// viewDiscoveryPath reports whether a non-resource path is discovery or the version, which
// is all the view serves besides resources. OpenAPI is not served: its documents would show
// the consumer account's other resources.
func viewDiscoveryPath(path string) bool {
	for _, p := range []string{"/api", "/apis"} {
		if path == p || path == p+"/" || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return path == "/version" || path == "/version/"
}
