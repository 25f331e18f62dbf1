package authorization

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const (
	root  cluster.ID = "root0000000000000"
	org   cluster.ID = "org00000000000000"
	team  cluster.ID = "team0000000000000"
	other cluster.ID = "other000000000000"
)

// testTree is root → org → team, and root → other.
func testTree() *cluster.Index {
	idx := cluster.NewIndex(root)
	idx.Set(root, "org", org, cluster.Attributes{Type: "org"})
	idx.Set(org, "team", team, cluster.Attributes{Type: "account"})
	idx.Set(root, "other", other, cluster.Attributes{Type: "org"})
	return idx
}

func crb(name, role string, inherit bool, subjects ...rbacv1.Subject) *binding {
	meta := metav1.ObjectMeta{Name: name}
	if inherit {
		meta.Labels = map[string]string{corev1alpha1.InheritLabel: "true"}
	}
	return newBinding("", meta, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, subjects)
}

func userSubj(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func groupSubj(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func get(resource, ns, name string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{Verb: "get", Resource: resource, Namespace: ns, Name: name, APIVersion: "v1", ResourceRequest: true}
}

func TestRuleAllows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rule rbacv1.PolicyRule
		attr authorizer.AttributesRecord
		want bool
	}{
		{"exact", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}, get("configmaps", "default", "x"), true},
		{"other verb", rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}, get("configmaps", "default", "x"), false},
		{"other group", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"configmaps"}}, get("configmaps", "", "x"), false},
		{"wildcards", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, get("secrets", "", "x"), true},
		{"subresource not granted by resource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}},
			authorizer.AttributesRecord{Verb: "get", Resource: "namespaces", Subresource: "status", ResourceRequest: true}, false},
		{"subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces/status"}},
			authorizer.AttributesRecord{Verb: "get", Resource: "namespaces", Subresource: "status", ResourceRequest: true}, true},
		{"any resource's subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*/status"}},
			authorizer.AttributesRecord{Verb: "get", Resource: "namespaces", Subresource: "status", ResourceRequest: true}, true},
		{"other subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*/status"}},
			authorizer.AttributesRecord{Verb: "get", Resource: "namespaces", Subresource: "finalize", ResourceRequest: true}, false},
		{"prefix is not a resource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"config"}}, get("configmaps", "", "x"), false},
		{"resourceNames match", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"x"}}, get("configmaps", "", "x"), true},
		{"resourceNames other", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"y"}}, get("configmaps", "", "x"), false},
		{"resourceNames never list", rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"y"}},
			authorizer.AttributesRecord{Verb: "list", Resource: "configmaps", ResourceRequest: true}, false},
		{"non-resource exact", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, authorizer.AttributesRecord{Verb: "get", Path: "/healthz"}, true},
		{"non-resource prefix", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/apis/*"}}, authorizer.AttributesRecord{Verb: "get", Path: "/apis/x/v1"}, true},
		{"non-resource other", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, authorizer.AttributesRecord{Verb: "get", Path: "/healthz/etcd"}, false},
		{"non-resource rule never allows resources", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}}, get("configmaps", "", "x"), false},
		{"resource rule never allows non-resource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, authorizer.AttributesRecord{Verb: "get", Path: "/api"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, ruleAllows(tc.attr, &tc.rule))
		})
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	p := NewPolicy(testTree())
	// org: an inherited admin for olive, a local view for vic, an inherited custom role for ivy.
	p.SetBinding(org, bindingKey{"", "owner"}, crb("owner", RoleAdmin, true, userSubj("olive")))
	p.SetBinding(org, bindingKey{"", "vic"}, crb("vic", RoleView, false, userSubj("vic")))
	p.SetClusterRole(org, "secret-reader", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}})
	p.SetBinding(org, bindingKey{"", "ivy"}, crb("ivy", "secret-reader", true, groupSubj("ivies"),
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "ns1", Name: "bot"}))
	// team: a RoleBinding for a ServiceAccount and a role of the same name that grants more.
	p.SetClusterRole(team, "secret-reader", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}})
	p.SetRole(team, objectKey{"ns1", "cm"}, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}}})
	p.SetBinding(team, bindingKey{"ns1", "bot"}, newBinding("ns1", metav1.ObjectMeta{Name: "bot"},
		rbacv1.RoleRef{Kind: "Role", Name: "cm"}, []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "bot"}}))
	// other: an aggregated role and an addition to view.
	p.SetClusterRole(other, "lease-edit", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "lease-edit",
		Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true", "team": "x"}},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}}})
	p.SetClusterRole(other, "agg", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg"},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "x"}}}}})
	p.SetBinding(other, bindingKey{"", "v"}, crb("v", RoleView, false, userSubj("vic")))
	p.SetBinding(other, bindingKey{"", "a"}, crb("a", "agg", false, userSubj("ann")))
	p.SetBinding(other, bindingKey{"", "d"}, crb("d", RoleAuthDelegator, false, userSubj("dee")))
	z := NewAuthorizer(p, nil)

	olive := &user.DefaultInfo{Name: "olive", Groups: []string{user.AllAuthenticated}}
	vic := &user.DefaultInfo{Name: "vic", Groups: []string{user.AllAuthenticated}}
	ivy := &user.DefaultInfo{Name: "ivy", Groups: []string{"ivies", user.AllAuthenticated}}
	bot := &user.DefaultInfo{Name: "system:serviceaccount:ns1:bot", Groups: []string{"system:serviceaccounts", user.AllAuthenticated}}
	ann := &user.DefaultInfo{Name: "ann", Groups: []string{user.AllAuthenticated}}
	nobody := &user.DefaultInfo{Name: "nobody", Groups: []string{user.AllAuthenticated}}
	master := &user.DefaultInfo{Name: "ops", Groups: []string{user.SystemPrivilegedGroup}}
	dee := &user.DefaultInfo{Name: "dee", Groups: []string{user.AllAuthenticated}}
	review := func(group, resource string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: "create", APIGroup: group, Resource: resource, ResourceRequest: true}
	}

	createAccount := authorizer.AttributesRecord{Verb: "create", APIGroup: corev1alpha1.GroupName, Resource: "accounts", ResourceRequest: true}
	useRootType := authorizer.AttributesRecord{Verb: "use", APIGroup: corev1alpha1.GroupName, Resource: "accounttypes", Name: "account", ResourceRequest: true}
	discovery := authorizer.AttributesRecord{Verb: "get", Path: "/apis"}
	for _, tc := range []struct {
		name string
		u    user.Info
		in   cluster.ID
		attr authorizer.AttributesRecord
		want bool
	}{
		{"owner in own account", olive, org, get("secrets", "default", "s"), true},
		{"owner inherited into child", olive, team, get("secrets", "default", "s"), true},
		{"owner creates child accounts", olive, team, createAccount, true},
		{"owner not in parent", olive, root, get("configmaps", "default", "c"), false},
		{"owner not in sibling org", olive, other, get("configmaps", "default", "c"), false},
		{"local view here", vic, org, get("configmaps", "default", "c"), true},
		{"view reads no secrets", vic, org, get("secrets", "default", "s"), false},
		{"view creates no accounts", vic, org, createAccount, false},
		{"local view does not flow down", vic, team, get("configmaps", "default", "c"), false},
		{"no discovery without access", vic, team, discovery, false},
		{"discovery with access", vic, org, discovery, true},
		{"inherited group grant", ivy, team, get("secrets", "default", "s"), true},
		{"role resolved where the binding lives", ivy, team, get("configmaps", "default", "c"), false},
		{"service account in its namespace", bot, team, get("configmaps", "ns1", "c"), true},
		{"service account in another namespace", bot, team, get("configmaps", "ns2", "c"), false},
		{"service account not cluster-wide", bot, team, get("configmaps", "", "c"), false},
		{"service account subject of an inherited binding here", bot, org, get("secrets", "ns1", "s"), true},
		{"service account subjects never flow down", bot, team, get("secrets", "ns1", "s"), false},
		{"aggregated into view", vic, other, authorizer.AttributesRecord{Verb: "get", APIGroup: "example.com", Resource: "widgets", Name: "w", ResourceRequest: true}, true},
		{"aggregation rule", ann, other, authorizer.AttributesRecord{Verb: "get", APIGroup: "example.com", Resource: "widgets", Name: "w", ResourceRequest: true}, true},
		{"aggregation rule only what it selects", ann, other, get("configmaps", "default", "c"), false},
		{"root types usable by all", nobody, root, useRootType, true},
		{"org types need a grant", nobody, org, useRootType, false},
		{"org admin uses org types", olive, org, useRootType, true},
		{"nothing in root", nobody, root, get("configmaps", "default", "c"), false},
		{"who am I in root", nobody, root, review("authentication.k8s.io", "selfsubjectreviews"), true},
		{"no access review in root without access", nobody, root, review("authorization.k8s.io", "selfsubjectaccessreviews"), false},
		{"who am I needs access elsewhere", nobody, org, review("authentication.k8s.io", "selfsubjectreviews"), false},
		{"nothing in unknown", nobody, cluster.Unknown, get("configmaps", "default", "c"), false},
		{"masters anywhere", master, team, get("secrets", "x", "y"), true},
		{"masters in wildcard", master, cluster.Wildcard, get("secrets", "x", "y"), true},
		{"wildcard for others", olive, cluster.Wildcard, get("configmaps", "", ""), false},
		{"auth-delegator reviews tokens", dee, other, review("authentication.k8s.io", "tokenreviews"), true},
		{"auth-delegator reviews access", dee, other, review("authorization.k8s.io", "subjectaccessreviews"), true},
		{"auth-delegator does nothing else", dee, other, get("configmaps", "default", "c"), false},
		{"auth-delegator only in its account", dee, org, review("authentication.k8s.io", "tokenreviews"), false},
		{"admin reviews tokens", olive, team, review("authentication.k8s.io", "tokenreviews"), true},
		{"admin reviews access in a namespace", olive, team, authorizer.AttributesRecord{Verb: "create", APIGroup: "authorization.k8s.io", Resource: "localsubjectaccessreviews", Namespace: "x", ResourceRequest: true}, true},
		{"view reviews no tokens", vic, org, review("authentication.k8s.io", "tokenreviews"), false},
		{"view reviews no access of others", vic, org, review("authorization.k8s.io", "subjectaccessreviews"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.attr.User = tc.u
			d, reason, err := z.Authorize(cluster.WithCluster(context.Background(), tc.in), tc.attr)
			require.NoError(t, err)
			require.Equal(t, tc.want, d == authorizer.DecisionAllow, "reason: %s", reason)
			if !tc.want && tc.in != cluster.Wildcard {
				require.Empty(t, reason, "denials inside accounts carry no reason")
			}
		})
	}

	t.Run("deleting a binding revokes", func(t *testing.T) {
		t.Parallel()
		p := NewPolicy(testTree())
		p.SetBinding(org, bindingKey{"", "x"}, crb("x", RoleView, true, userSubj("x")))
		u := &user.DefaultInfo{Name: "x"}
		_, ok := p.allows(u, team, get("configmaps", "", "c"))
		require.True(t, ok)
		p.SetBinding(org, bindingKey{"", "x"}, nil)
		_, ok = p.allows(u, team, get("configmaps", "", "c"))
		require.False(t, ok)
		require.Empty(t, p.accounts, "empty accounts are forgotten")
	})
}

func TestAccessibleAccounts(t *testing.T) {
	t.Parallel()
	p := NewPolicy(testTree())
	p.SetBinding(org, bindingKey{"", "owner"}, crb("owner", RoleAdmin, true, userSubj("olive")))
	p.SetBinding(other, bindingKey{"", "v"}, crb("v", RoleView, false, groupSubj("viewers")))
	p.SetBinding(team, bindingKey{"ns", "v"}, newBinding("ns", metav1.ObjectMeta{Name: "v"}, rbacv1.RoleRef{Kind: "ClusterRole", Name: RoleView}, []rbacv1.Subject{groupSubj("viewers")}))
	require.Equal(t, []cluster.ID{org, team}, p.AccessibleAccounts(&user.DefaultInfo{Name: "olive"}, root))
	require.Equal(t, []cluster.ID{team}, p.AccessibleAccounts(&user.DefaultInfo{Name: "olive"}, team))
	require.Equal(t, []cluster.ID{other, team}, p.AccessibleAccounts(&user.DefaultInfo{Name: "v", Groups: []string{"viewers"}}, root))
	require.Empty(t, p.AccessibleAccounts(&user.DefaultInfo{Name: "nobody"}, root))
	require.Len(t, p.AccessibleAccounts(&user.DefaultInfo{Name: "ops", Groups: []string{user.SystemPrivilegedGroup}}, root), 4)
}

func TestRulesFor(t *testing.T) {
	t.Parallel()
	p := NewPolicy(testTree())
	p.SetBinding(org, bindingKey{"", "inh"}, crb("inh", RoleView, true, userSubj("u")))
	p.SetBinding(team, bindingKey{"", "loc"}, crb("loc", RoleEdit, false, userSubj("u")))
	u := &user.DefaultInfo{Name: "u"}
	require.Equal(t, viewRules, p.RulesFor(u, team, "", true), "inherited only")
	all := p.RulesFor(u, team, "", false)
	require.Equal(t, concat(builtinRoles[RoleEdit].rules, viewRules, basicRules), all)
	require.Empty(t, p.RulesFor(&user.DefaultInfo{Name: "x"}, team, "", false))
}

func TestGrants(t *testing.T) {
	t.Parallel()
	p := NewPolicy(testTree())
	p.SetBinding(org, bindingKey{"", "inh"}, crb("inh", RoleView, true, userSubj("u")))
	p.SetBinding(org, bindingKey{"", "loc"}, crb("loc", RoleEdit, false, userSubj("u")))
	p.SetBinding(team, bindingKey{"", "here"}, crb("here", RoleEdit, false, userSubj("w")))
	var got []string
	for _, g := range p.Grants(team) {
		got = append(got, fmt.Sprintf("%s/%s/%v", g.Account, g.Name, g.Inherited))
	}
	require.Equal(t, []string{string(team) + "/here/false", string(org) + "/inh/true"}, got)
}

// TestConfinedIdentities checks identities confined to one account (ServiceAccounts, impersonated
// users): their name and groups hold grants in that account only; elsewhere they have what
// every authenticated user has, and system:masters is privileged in its account only.
func TestConfinedIdentities(t *testing.T) {
	t.Parallel()
	p := NewPolicy(testTree())
	p.SetBinding(org, bindingKey{"", "bob"}, crb("bob", RoleAdmin, true, userSubj("bob")))
	p.SetBinding(other, bindingKey{"", "bob"}, crb("bob", RoleAdmin, false, userSubj("bob"), groupSubj("ops")))
	p.SetBinding(other, bindingKey{"", "everyone"}, crb("everyone", RoleView, false, groupSubj(user.AllAuthenticated)))
	p.SetClusterRole(team, "impersonator", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "impersonator"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"impersonate"}, APIGroups: []string{"", "authentication.k8s.io"}, Resources: []string{"users", "groups", "userextras/*"}}}})
	p.SetBinding(team, bindingKey{"", "imp"}, crb("imp", "impersonator", false, userSubj("bob")))
	z := NewAuthorizer(p, nil)
	bob := &user.DefaultInfo{Name: "bob", Groups: []string{"ops", user.AllAuthenticated}}
	confinedBob := authentication.Confine(bob, team)
	masters := authentication.Confine(&user.DefaultInfo{Name: "m", Groups: []string{user.SystemPrivilegedGroup}}, team)
	write := func(u user.Info) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: "create", Resource: "configmaps", Namespace: "default", APIVersion: "v1", ResourceRequest: true}
	}
	read := func(u user.Info) authorizer.AttributesRecord {
		a := write(u)
		a.Verb = "list"
		return a
	}
	for _, tc := range []struct {
		name string
		id   cluster.ID
		attr authorizer.AttributesRecord
		want authorizer.Decision
	}{
		{"unconfined holds its grants everywhere", other, write(bob), authorizer.DecisionAllow},
		{"confined holds inherited grants in its account", team, write(confinedBob), authorizer.DecisionAllow},
		{"confined holds no grant by name elsewhere", other, write(confinedBob), authorizer.DecisionDeny},
		{"confined holds no grant by group elsewhere", org, write(confinedBob), authorizer.DecisionDeny},
		{"confined holds everyone's grants elsewhere", other, read(confinedBob), authorizer.DecisionAllow},
		{"confined system:masters in its account", team, write(masters), authorizer.DecisionAllow},
		{"confined system:masters elsewhere", other, write(masters), authorizer.DecisionDeny},
		{"impersonating system:masters", team, authorizer.AttributesRecord{User: bob, Verb: "impersonate", Resource: "groups", Name: user.SystemPrivilegedGroup, ResourceRequest: true}, authorizer.DecisionDeny},
		{"impersonating a reserved group", team, authorizer.AttributesRecord{User: bob, Verb: "impersonate", Resource: "groups", Name: "accountmesh:subtree:root", ResourceRequest: true}, authorizer.DecisionDeny},
		{"impersonating the confining extra", team, authorizer.AttributesRecord{User: bob, Verb: "impersonate", APIGroup: "authentication.k8s.io", Resource: "userextras", Subresource: authentication.AccountExtraKey, Name: string(other), ResourceRequest: true}, authorizer.DecisionDeny},
		{"impersonating another group", team, authorizer.AttributesRecord{User: bob, Verb: "impersonate", Resource: "groups", Name: "devs", ResourceRequest: true}, authorizer.DecisionAllow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, reason, err := z.Authorize(cluster.WithCluster(context.Background(), tc.id), tc.attr)
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "reason %q", reason)
		})
	}
	require.Equal(t, []cluster.ID{org, other, team}, p.AccessibleAccounts(bob, root))
	require.Equal(t, []cluster.ID{other, team}, p.AccessibleAccounts(confinedBob, root), "its own account, and where everyone has access")
}

// TestShadowAccountAdmins checks who is admin in a shadow account: whoever holds update on
// apiexports/content of an export it serves, in the provider account (its parent), including
// the provider account's ServiceAccounts; not those who may only bind the export or read its
// content, nor the same-named ServiceAccount of another account, nor anyone in another child of
// the provider account.
func TestShadowAccountAdmins(t *testing.T) {
	t.Parallel()
	const (
		prov   cluster.ID = "prov0000000000000"
		shadow cluster.ID = "shadow00000000000"
		below  cluster.ID = "below000000000000"
		sib    cluster.ID = "sibling0000000000"
	)
	idx := testTree()
	idx.Set(root, "prov", prov, cluster.Attributes{Type: "provider"})
	idx.Set(prov, "consumer-org", shadow, cluster.Attributes{Type: "shadow", Shadow: &cluster.Shadow{ConsumerOrg: org, Exports: []string{"db"}}})
	idx.Set(shadow, "below", below, cluster.Attributes{Type: "account"})
	idx.Set(prov, "sib", sib, cluster.Attributes{Type: "account"})
	p := NewPolicy(idx)
	contentRole := func(name string, verbs []string, resource, export string) {
		p.SetClusterRole(prov, name, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{Verbs: verbs, APIGroups: []string{"apis.accountmesh.io"}, Resources: []string{resource}, ResourceNames: []string{export}}}})
	}
	contentRole("db-content", []string{"*"}, "apiexports/content", "db")
	contentRole("db-read", []string{"get", "list", "watch"}, "apiexports/content", "db")
	contentRole("db-bind", []string{"bind"}, "apiexports", "db")
	contentRole("cache-content", []string{"*"}, "apiexports/content", "cache")
	sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "ops", Name: "ctrl"}
	p.SetBinding(prov, bindingKey{"", "c"}, crb("c", "db-content", false, userSubj("carol"), sa))
	p.SetBinding(prov, bindingKey{"", "r"}, crb("r", "db-read", false, userSubj("reader")))
	p.SetBinding(prov, bindingKey{"", "b"}, crb("b", "db-bind", false, groupSubj(user.AllAuthenticated)))
	p.SetBinding(prov, bindingKey{"", "o"}, crb("o", "cache-content", false, userSubj("other-export")))
	// The consumer org's ServiceAccount of the same name holds content rights in its own account.
	p.SetClusterRole(org, "db-content", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "db-content"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}})
	p.SetBinding(org, bindingKey{"", "c"}, crb("c", "db-content", false, sa))
	z := NewAuthorizer(p, nil)

	authenticated := func(name string) *user.DefaultInfo {
		return &user.DefaultInfo{Name: name, Groups: []string{user.AllAuthenticated}}
	}
	saName := "system:serviceaccount:ops:ctrl"
	secret := authorizer.AttributesRecord{Verb: "get", Resource: "secrets", Namespace: "default", Name: "creds", APIVersion: "v1", ResourceRequest: true}
	for _, tc := range []struct {
		name string
		u    user.Info
		in   cluster.ID
		want bool
	}{
		{"content holder in the shadow account", authenticated("carol"), shadow, true},
		{"content holder below it", authenticated("carol"), below, true},
		{"content holder in another child", authenticated("carol"), sib, false},
		{"content reader", authenticated("reader"), shadow, false},
		{"everyone may bind", authenticated("mallory"), shadow, false},
		{"content holder of another export", authenticated("other-export"), shadow, false},
		{"provider ServiceAccount", authentication.Confine(authenticated(saName), prov), shadow, true},
		{"provider ServiceAccount in another child", authentication.Confine(authenticated(saName), prov), sib, false},
		{"consumer's ServiceAccount of the same name", authentication.Confine(authenticated(saName), org), shadow, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := cluster.WithCluster(t.Context(), tc.in)
			a := secret
			a.User = tc.u
			d, _, err := z.Authorize(ctx, a)
			require.NoError(t, err)
			require.Equal(t, tc.want, d == authorizer.DecisionAllow)
			rules := p.RulesFor(tc.u, tc.in, "default", false)
			require.Equal(t, tc.want, rulesAllow(secret, rules), "RulesFor agrees")
			require.Equal(t, tc.want, slices.Contains(p.AccessibleAccounts(tc.u, root), tc.in), "AccessibleAccounts agrees")
		})
	}
	require.Equal(t, []cluster.ID{prov}, p.AccessibleAccounts(authenticated("reader"), root), "a content reader sees the provider account only")
	require.Equal(t, []cluster.ID{below}, p.AccessibleAccounts(authenticated("carol"), below), "the list stays under the request's account")
}
