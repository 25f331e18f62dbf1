package authorization

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// BenchmarkAuthorize measures a decision in the leaf of an 11-account chain whose every
// account holds 1,000 bindings of other users; the caller's only grant is an inherited one 10
// levels up.
func BenchmarkAuthorize(b *testing.B) {
	ids, p := benchPolicy(RoleEdit)
	z := NewAuthorizer(p, nil)
	leaf := cluster.WithCluster(context.Background(), ids[len(ids)-1])
	alice := &user.DefaultInfo{Name: "alice", Groups: []string{"developers", user.AllAuthenticated}}
	bob := &user.DefaultInfo{Name: "bob", Groups: []string{"developers", user.AllAuthenticated}}
	attrs := func(u user.Info) authorizer.Attributes {
		return authorizer.AttributesRecord{User: u, Verb: "get", Resource: "configmaps", Namespace: "default", Name: "x", APIVersion: "v1", ResourceRequest: true}
	}
	for _, bc := range []struct {
		name  string
		attrs authorizer.Attributes
		want  authorizer.Decision
	}{
		{"allowed-inherited-from-10-up", attrs(alice), authorizer.DecisionAllow},
		{"denied-after-walking-11-accounts", attrs(bob), authorizer.DecisionDeny},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d, _, _ := z.Authorize(leaf, bc.attrs); d != bc.want {
					b.Fatalf("decision %v, want %v", d, bc.want)
				}
			}
		})
	}
}

// benchPolicy returns an 11-account chain, root first, whose every account holds 1,000
// bindings of other users, and the policy in which alice holds role through an inherited
// binding in root.
func benchPolicy(role string) ([]cluster.ID, *Policy) {
	const depth, perAccount = 10, 1000
	idx := cluster.NewIndex("bench-root-00000")
	ids := []cluster.ID{idx.Root()}
	for i := 1; i <= depth; i++ {
		id := cluster.ID(fmt.Sprintf("bench-%010d", i))
		idx.Set(ids[i-1], fmt.Sprintf("a%d", i), id, cluster.Attributes{})
		ids = append(ids, id)
	}
	p := NewPolicy(idx)
	for _, id := range ids {
		for j := 0; j < perAccount; j++ {
			name := fmt.Sprintf("b%d", j)
			p.SetBinding(id, bindingKey{"", name}, crb(name, RoleEdit, j%2 == 0, userSubj(fmt.Sprintf("user-%d", j)), groupSubj(fmt.Sprintf("group-%d", j))))
		}
	}
	p.SetBinding(ids[0], bindingKey{"", "grant"}, crb("grant", role, true, userSubj("alice")))
	return ids, p
}

// BenchmarkRuleAllows is the rule matcher alone, for reference.
func BenchmarkRuleAllows(b *testing.B) {
	a := authorizer.AttributesRecord{Verb: "get", Resource: "namespaces", Subresource: "status", ResourceRequest: true}
	rules := builtinRoles[RoleAdmin].rules
	b.ReportAllocs()
	for b.Loop() {
		rulesAllow(a, rules)
	}
}
