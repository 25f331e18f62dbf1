package authorization

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	toolscache "k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// fakeViews holds one export, "db" in org with identity "h", exporting databases.db.io and
// claiming secrets; the claim is applied in the accounts of applied.
type fakeViews struct {
	export  *apisv1alpha1.APIExport
	applied map[cluster.ID]bool
}

func newFakeViews(applied ...cluster.ID) *fakeViews {
	f := &fakeViews{applied: map[cluster.ID]bool{}, export: &apisv1alpha1.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: apisv1alpha1.APIExportSpec{
			Resources: []apisv1alpha1.ExportedResource{{Group: "db.io", Name: "databases", Schema: "v1.databases.db.io"},
				// Named by the export, but no binding can bind it: no schema is in a built-in group.
				{Group: "rbac.authorization.k8s.io", Name: "clusterrolebindings", Schema: "v1.clusterrolebindings.rbac.authorization.k8s.io"}},
			PermissionClaims: []apisv1alpha1.PermissionClaim{{Resource: "secrets", Verbs: []string{"get", "list", "watch", "create"},
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"db.io/connection": "true"}}}},
			Service: &apisv1alpha1.ServiceSpec{Model: apisv1alpha1.ServiceModelShared, RelatedResources: []apisv1alpha1.RelatedResource{{Resource: "configmaps"}}},
		},
		Status: apisv1alpha1.APIExportStatus{IdentityHash: "h"},
	}}
	for _, id := range applied {
		f.applied[id] = true
	}
	return f
}

func (f *fakeViews) Get(provider cluster.ID, name string) (*apisv1alpha1.APIExport, bool) {
	return f.export, provider == org && name == "db"
}

func (f *fakeViews) ClaimApplied(id cluster.ID, identityHash string, c *apisv1alpha1.PermissionClaim) bool {
	return identityHash == "h" && c == &f.export.Spec.PermissionClaims[0] && f.applied[id]
}

// Bound reports the accounts where the claim is applied as bound.
func (f *fakeViews) Bound(id cluster.ID, identityHash string) bool {
	return identityHash == "h" && f.applied[id]
}

// ServesBound reports databases.db.io as bound in the accounts where the claim is applied.
func (f *fakeViews) ServesBound(id cluster.ID, e *apisv1alpha1.APIExport, gr schema.GroupResource) bool {
	return e.Status.IdentityHash == "h" && gr == schema.GroupResource{Group: "db.io", Resource: "databases"} && (id == cluster.Wildcard || f.applied[id])
}

// TenantSpace reports namespace "tenant" as the tenant space in the accounts where the claim is
// applied.
func (f *fakeViews) TenantSpace(id cluster.ID, identityHash, ns string) bool {
	return identityHash == "h" && f.applied[id] && ns == "tenant"
}

func TestAuthorizeView(t *testing.T) {
	t.Parallel()
	p := NewPolicy(testTree())
	p.SetBinding(org, bindingKey{"", "provider-admin"}, crb("provider-admin", RoleAdmin, false, userSubj("provider")))
	p.SetBinding(team, bindingKey{"", "team-admin"}, crb("team-admin", RoleAdmin, false, userSubj("consumer")))
	z := NewAuthorizer(p, newFakeViews(team))
	provider := &user.DefaultInfo{Name: "provider", Groups: []string{user.AllAuthenticated}}
	consumer := &user.DefaultInfo{Name: "consumer", Groups: []string{user.AllAuthenticated}}
	masters := &user.DefaultInfo{Name: "admin", Groups: []string{user.SystemPrivilegedGroup}}
	inView := func(providerID cluster.ID, export string, id cluster.ID) context.Context {
		return view.WithExport(cluster.WithCluster(context.Background(), id), view.Export{ProviderID: providerID, Name: export, Account: string(id)})
	}
	res := func(u user.Info, verb, group, resource, sub string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: "default", ResourceRequest: true}
	}
	resIn := func(ns, verb, sub string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: provider, Verb: verb, Resource: "configmaps", Subresource: sub, Namespace: ns, ResourceRequest: true}
	}
	path := func(u user.Info, p string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: "get", Path: p}
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		attr authorizer.AttributesRecord
		want authorizer.Decision
	}{
		{"exported resource at *", inView(org, "db", cluster.Wildcard), res(provider, "list", "db.io", "databases", ""), authorizer.DecisionAllow},
		{"exported resource in an account", inView(org, "db", team), res(provider, "update", "db.io", "databases", "status"), authorizer.DecisionAllow},
		{"account not bound to the export, answered 404 by the view", inView(org, "db", other), res(provider, "get", "db.io", "databases", ""), authorizer.DecisionAllow},
		{"built-in resource the export names", inView(org, "db", team), res(provider, "delete", "rbac.authorization.k8s.io", "clusterrolebindings", ""), authorizer.DecisionDeny},
		{"built-in resource the export names at *", inView(org, "db", cluster.Wildcard), res(provider, "list", "rbac.authorization.k8s.io", "clusterrolebindings", ""), authorizer.DecisionDeny},
		{"impersonation through a view", inView(org, "db", team), authorizer.AttributesRecord{User: provider, Verb: "impersonate", Resource: "users", Name: "consumer", ResourceRequest: true}, authorizer.DecisionDeny},
		{"exported resource's unknown subresource", inView(org, "db", team), res(provider, "get", "db.io", "databases", "proxy"), authorizer.DecisionDeny},
		{"discovery", inView(org, "db", team), path(provider, "/apis"), authorizer.DecisionAllow},
		{"openapi is not served", inView(org, "db", team), path(provider, "/openapi/v3"), authorizer.DecisionDeny},
		{"apibindings read", inView(org, "db", cluster.Wildcard), res(provider, "watch", apisv1alpha1.GroupName, "apibindings", ""), authorizer.DecisionAllow},
		{"apibindings write", inView(org, "db", team), res(provider, "delete", apisv1alpha1.GroupName, "apibindings", ""), authorizer.DecisionDeny},
		{"claim applied in the account", inView(org, "db", team), res(provider, "create", "", "secrets", ""), authorizer.DecisionAllow},
		{"claim at *", inView(org, "db", cluster.Wildcard), res(provider, "list", "", "secrets", ""), authorizer.DecisionAllow},
		{"claim without the verb", inView(org, "db", team), res(provider, "delete", "", "secrets", ""), authorizer.DecisionDeny},
		{"claim not applied in the account", inView(org, "db", other), res(provider, "get", "", "secrets", ""), authorizer.DecisionDeny},
		{"resource neither exported nor claimed", inView(org, "db", team), res(provider, "get", "", "configmaps", ""), authorizer.DecisionDeny},
		{"related resource in the tenant space", inView(org, "db", team), resIn("tenant", "create", ""), authorizer.DecisionAllow},
		{"related resource deleted in the tenant space", inView(org, "db", team), resIn("tenant", "delete", ""), authorizer.DecisionAllow},
		{"related resource outside the tenant space", inView(org, "db", team), resIn("default", "create", ""), authorizer.DecisionDeny},
		{"related resource across the account's namespaces", inView(org, "db", team), resIn("", "list", ""), authorizer.DecisionDeny},
		{"related resource in an unbound account", inView(org, "db", other), resIn("tenant", "get", ""), authorizer.DecisionDeny},
		{"related resource's subresource", inView(org, "db", team), resIn("tenant", "update", "status"), authorizer.DecisionDeny},
		{"related resource listed at *", inView(org, "db", cluster.Wildcard), resIn("", "list", ""), authorizer.DecisionAllow},
		{"related resource written at *", inView(org, "db", cluster.Wildcard), resIn("", "create", ""), authorizer.DecisionDeny},
		{"without a content grant", inView(org, "db", team), res(consumer, "get", "db.io", "databases", ""), authorizer.DecisionDeny},
		{"unknown export", inView(org, "other", team), res(provider, "get", "db.io", "databases", ""), authorizer.DecisionDeny},
		{"unknown provider", inView(cluster.Unknown, "db", team), res(provider, "get", "db.io", "databases", ""), authorizer.DecisionDeny},
		{"system:masters", inView(cluster.Unknown, "x", team), res(masters, "delete", "", "configmaps", ""), authorizer.DecisionAllow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, reason, err := z.Authorize(tc.ctx, tc.attr)
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "reason %q", reason)
			if got == authorizer.DecisionDeny {
				require.Empty(t, reason, "view denials are uniform")
			}
		})
	}
}

// BenchmarkViewAuthorize measures view decisions with the real lookups: the content grant in
// the provider account (inherited from 10 levels up, among 1,000 bindings of other users per
// account), the export in the exports cache and, for a claimed resource, the applied claim in
// the bindings cache, which holds the bindings of 1,000 consumer accounts.
func BenchmarkViewAuthorize(b *testing.B) {
	ids, p := benchPolicy(RoleAdmin)
	providerID := ids[len(ids)-1]
	exports, bindings := newCache(), newCache()
	x := &view.Exports{}
	require.NoError(b, x.Init(exports, bindings, nil))
	e := newFakeViews().export
	e.Annotations = map[string]string{corev1alpha1.ClusterAnnotation: string(providerID)}
	require.NoError(b, exports.Add(e))
	for i := range 1000 {
		require.NoError(b, bindings.Add(&apisv1alpha1.APIBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: fmt.Sprintf("c%015d", i)}},
			Status:     apisv1alpha1.APIBindingStatus{IdentityHash: "h", AppliedPermissionClaims: e.Spec.PermissionClaims},
		}))
	}
	z := NewAuthorizer(p, x)
	alice := &user.DefaultInfo{Name: "alice", Groups: []string{user.AllAuthenticated}}
	bob := &user.DefaultInfo{Name: "bob", Groups: []string{user.AllAuthenticated}}
	consumer := cluster.ID("c000000000000500")
	ctx := view.WithExport(cluster.WithCluster(context.Background(), consumer), view.Export{ProviderID: providerID, Name: "db", Account: string(consumer)})
	for _, bc := range []struct {
		name  string
		attrs authorizer.Attributes
		want  authorizer.Decision
	}{
		{"exported-resource", authorizer.AttributesRecord{User: alice, Verb: "list", APIGroup: "db.io", Resource: "databases", ResourceRequest: true}, authorizer.DecisionAllow},
		{"claimed-resource", authorizer.AttributesRecord{User: alice, Verb: "get", Resource: "secrets", Namespace: "default", Name: "x", ResourceRequest: true}, authorizer.DecisionAllow},
		{"denied-without-content-grant", authorizer.AttributesRecord{User: bob, Verb: "list", APIGroup: "db.io", Resource: "databases", ResourceRequest: true}, authorizer.DecisionDeny},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d, _, _ := z.Authorize(ctx, bc.attrs); d != bc.want {
					b.Fatalf("decision %v, want %v", d, bc.want)
				}
			}
		})
	}
}

// informerCache stands in for a shared informer: an indexer keyed like them.
type informerCache struct{ toolscache.Indexer }

func (c informerCache) Store() toolscache.Indexer { return c.Indexer }

func newCache() informerCache {
	return informerCache{toolscache.NewIndexer(client.ClusterKey, toolscache.Indexers{})}
}
