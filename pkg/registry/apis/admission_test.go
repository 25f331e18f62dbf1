package apis

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeIndex knows accounts by path, and resolves paths and IDs.
type fakeIndex map[string]cluster.ID

func (x fakeIndex) Resolve(pathOrID string) (cluster.ID, bool) {
	if id, ok := x[pathOrID]; ok {
		return id, true
	}
	_, ok := x.Lookup(cluster.ID(pathOrID))
	return cluster.ID(pathOrID), ok
}

func (x fakeIndex) Lookup(id cluster.ID) (cluster.Entry, bool) {
	for p, i := range x {
		if i == id {
			return cluster.Entry{ID: id, Path: p}, true
		}
	}
	return cluster.Entry{}, false
}

// grant is what the fake authorizer allows: a user, a verb, a resource in an account, and
// optionally one name.
type grant struct {
	user, userGroup, verb, group, resource, name string
	account                                      cluster.ID
}

type fakeAuthorizer []grant

func (f fakeAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	id, _ := cluster.FromContext(ctx)
	for _, g := range f {
		subject := g.user == a.GetUser().GetName() || (g.userGroup != "" && slices.Contains(a.GetUser().GetGroups(), g.userGroup))
		if subject && g.verb == a.GetVerb() && g.group == a.GetAPIGroup() &&
			g.resource == a.GetResource() && g.account == id && (g.name == "" || g.name == a.GetName()) {
			return authorizer.DecisionAllow, "", nil
		}
	}
	return authorizer.DecisionNoOpinion, "no grant", nil
}

func TestCheckBind(t *testing.T) {
	t.Parallel()
	index := fakeIndex{"root:prov": "prov", "root:acme:cons": "cons", "root:acme:prov2": "prov2", "root:acme:prov3": "prov3"}
	authz := fakeAuthorizer{
		{user: "bob", verb: "bind", group: apisv1alpha1.GroupName, resource: "apiexports", name: "db", account: "prov"},
		{user: "own", verb: "bind", group: apisv1alpha1.GroupName, resource: "apiexports", account: "cons"},
		{user: "bob", verb: "bind", group: apisv1alpha1.GroupName, resource: "apiexports", account: "cons"},
		{userGroup: "accountmesh:subtree:root:acme", verb: "bind", group: apisv1alpha1.GroupName, resource: "apiexports", account: "prov2"},
		{userGroup: "accountmesh:account:root:acme:cons", verb: "bind", group: apisv1alpha1.GroupName, resource: "apiexports", account: "prov3"},
		{userGroup: "accountmesh:subtree:root:acme:other", verb: "bind", group: apisv1alpha1.GroupName, resource: "apiexports", account: "prov"},
	}
	for _, tc := range []struct {
		name, user, path, export string
		want                     string
	}{
		{name: "granted", user: "bob", path: "root:prov", export: "db"},
		{name: "granted by cluster ID", user: "bob", path: "prov", export: "db"},
		{name: "another export", user: "bob", path: "root:prov", export: "other",
			want: `spec.reference.export: Forbidden: user "bob" may not bind APIExport "other" of account "root:prov"`},
		{name: "no grant", user: "eve", path: "root:prov", export: "db",
			want: `spec.reference.export: Forbidden: user "eve" may not bind APIExport "db" of account "root:prov"`},
		{name: "unknown account looks refused", user: "bob", path: "root:nope", export: "db",
			want: `spec.reference.export: Forbidden: user "bob" may not bind APIExport "db" of account "root:nope"`},
		{name: "open to the consumer's subtree", user: "eve", path: "root:acme:prov2", export: "db"},
		{name: "open to the consumer account", user: "eve", path: "root:acme:prov3", export: "db"},
		{name: "open to another subtree", user: "eve", path: "root:prov", export: "db",
			want: `spec.reference.export: Forbidden: user "eve" may not bind APIExport "db" of account "root:prov"`},
		{name: "own account by default", user: "own", export: "db"},
		{name: "own account without grant", user: "eve", export: "db",
			want: `spec.reference.export: Forbidden: user "eve" may not bind APIExport "db" of account "root:acme:cons"`},
		{name: "no user", path: "root:prov", export: "db",
			want: `spec.reference.export: Forbidden: user "<unknown>" may not bind APIExport "db" of account "root:prov"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := cluster.WithCluster(t.Context(), "cons")
			if tc.user != "" {
				ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: tc.user})
			}
			a := &admission{index: index, authz: authorizer.AuthorizerFunc(authz.Authorize)}
			errs := a.checkBind(ctx, &apisv1alpha1.ExportReference{Path: tc.path, Name: tc.export})
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			require.Equal(t, tc.want, errs[0].Error())
		})
	}
}

func TestCheckClaims(t *testing.T) {
	t.Parallel()
	authz := fakeAuthorizer{
		{user: "bob", verb: "get", resource: "secrets", account: "cons"},
		{user: "bob", verb: "list", resource: "secrets", account: "cons"},
	}
	binding := func(state apisv1alpha1.ClaimState, verbs ...string) *apisv1alpha1.APIBinding {
		return &apisv1alpha1.APIBinding{Spec: apisv1alpha1.APIBindingSpec{PermissionClaims: []apisv1alpha1.AcceptablePermissionClaim{{
			PermissionClaim: apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: verbs}, State: state,
		}}}}
	}
	for _, tc := range []struct {
		name     string
		obj, old *apisv1alpha1.APIBinding
		want     string
	}{
		{name: "accept what the user holds", obj: binding(apisv1alpha1.ClaimAccepted, "get", "list")},
		{name: "reject anything", obj: binding(apisv1alpha1.ClaimRejected, "*")},
		{name: "accept more than held", obj: binding(apisv1alpha1.ClaimAccepted, "get", "delete"),
			want: `spec.permissionClaims[0].state: Forbidden: accepting the claim needs "delete" on secrets (core) in this account, which you do not have`},
		{name: "accept all verbs", obj: binding(apisv1alpha1.ClaimAccepted, "*"), want: `needs "create" on secrets (core)`},
		{name: "flip to accepted", obj: binding(apisv1alpha1.ClaimAccepted, "delete"), old: binding(apisv1alpha1.ClaimRejected, "delete"),
			want: `needs "delete"`},
		{name: "already accepted by someone else", obj: binding(apisv1alpha1.ClaimAccepted, "delete"), old: binding(apisv1alpha1.ClaimAccepted, "delete")},
		{name: "more verbs accepted on update", obj: binding(apisv1alpha1.ClaimAccepted, "delete", "get"), old: binding(apisv1alpha1.ClaimAccepted, "get"),
			want: `needs "delete"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := genericapirequest.WithUser(cluster.WithCluster(t.Context(), "cons"), &user.DefaultInfo{Name: "bob"})
			a := &admission{index: fakeIndex{}, authz: authorizer.AuthorizerFunc(authz.Authorize)}
			errs := a.checkClaims(ctx, tc.obj, tc.old)
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.ErrorContains(t, errs.ToAggregate(), tc.want)
		})
	}
}

func TestCheckAdmissionPolicies(t *testing.T) {
	t.Parallel()
	authz := fakeAuthorizer{
		{user: "bob", verb: "get", group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicybindings", name: "mine", account: "prov"},
		{user: "bob", verb: "get", group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicybindings", name: "mine", account: "other"},
	}
	export := func(names ...string) *apisv1alpha1.APIExport {
		e := &apisv1alpha1.APIExport{}
		for _, n := range names {
			e.Spec.AdmissionPolicies = append(e.Spec.AdmissionPolicies, apisv1alpha1.ExportAdmissionPolicy{BindingName: n})
		}
		return e
	}
	for _, tc := range []struct {
		name, user string
		account    cluster.ID
		e, old     *apisv1alpha1.APIExport
		want       []string
	}{
		{name: "may get it", user: "bob", account: "prov", e: export("mine")},
		{name: "may not get it", user: "bob", account: "prov", e: export("mine", "theirs"),
			want: []string{`spec.admissionPolicies[1].bindingName: Forbidden: naming ValidatingAdmissionPolicyBinding "theirs" needs the right to get it in this account, which you do not have`}},
		{name: "a grant elsewhere counts for nothing", user: "eve", account: "prov", e: export("mine"),
			want: []string{`spec.admissionPolicies[0].bindingName: Forbidden: naming ValidatingAdmissionPolicyBinding "mine" needs the right to get it in this account, which you do not have`}},
		{name: "what the export named already is not checked", user: "eve", account: "prov", e: export("theirs"), old: export("theirs", "mine")},
		{name: "no user", account: "prov", e: export("mine"),
			want: []string{`spec.admissionPolicies[0].bindingName: Forbidden: naming ValidatingAdmissionPolicyBinding "mine" needs the right to get it in this account, which you do not have`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := cluster.WithCluster(t.Context(), tc.account)
			if tc.user != "" {
				ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: tc.user})
			}
			a := &admission{authz: authorizer.AuthorizerFunc(authz.Authorize)}
			var got []string
			for _, err := range a.checkAdmissionPolicies(ctx, tc.e, tc.old) {
				got = append(got, err.Error())
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestValidateAdmissionPolicies(t *testing.T) {
	t.Parallel()
	many := make([]apisv1alpha1.ExportAdmissionPolicy, 17)
	for i := range many {
		many[i].BindingName = fmt.Sprintf("b%d", i)
	}
	for _, tc := range []struct {
		name     string
		policies []apisv1alpha1.ExportAdmissionPolicy
		want     []string
	}{
		{name: "valid", policies: []apisv1alpha1.ExportAdmissionPolicy{{BindingName: "a"}, {BindingName: "b.c"}}},
		{name: "twice", policies: []apisv1alpha1.ExportAdmissionPolicy{{BindingName: "a"}, {BindingName: "a"}},
			want: []string{`spec.admissionPolicies[1].bindingName: Duplicate value: "a"`}},
		{name: "not a name", policies: []apisv1alpha1.ExportAdmissionPolicy{{BindingName: "A_b"}},
			want: []string{`spec.admissionPolicies[0].bindingName: Invalid value: "A_b": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{name: "too many", policies: many, want: []string{`spec.admissionPolicies: Too many: 17: must have at most 16 items`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, err := range validateAdmissionPolicies(tc.policies, field.NewPath("spec", "admissionPolicies")) {
				got = append(got, err.Error())
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCheckPlan(t *testing.T) {
	t.Parallel()
	index := fakeIndex{"root:prov": "prov", "root:cons": "cons"}
	planned := &apisv1alpha1.APIExport{Spec: apisv1alpha1.APIExportSpec{Catalog: &apisv1alpha1.Catalog{Plans: []apisv1alpha1.Plan{
		{Name: "basic", Default: true}, {Name: "pro"},
	}}}}
	planned.Name = "db"
	noDefault := planned.DeepCopy()
	noDefault.Name, noDefault.Spec.Catalog.Plans[0].Default = "nodefault", false
	plain := &apisv1alpha1.APIExport{}
	plain.Name = "plain"
	exports := map[string]*apisv1alpha1.APIExport{"db": planned, "nodefault": noDefault, "plain": plain}
	a := &admission{index: index, export: func(id cluster.ID, name string) (*apisv1alpha1.APIExport, bool) {
		e, ok := exports[name]
		return e, ok && id == "prov"
	}}
	for _, tc := range []struct {
		name, export, plan, want string
	}{
		{name: "offered plan", export: "db", plan: "pro"},
		{name: "unknown plan lists the plans", export: "db", plan: "gold", want: `spec.plan: Unsupported value: "gold": supported values: "basic", "pro"`},
		{name: "no plan, no default", export: "nodefault", want: `spec.plan: Required value: APIExport "nodefault" has no default plan; choose one of: basic, pro`},
		{name: "plan of an export without plans", export: "plain", plan: "basic", want: `spec.plan: Invalid value: "basic": APIExport "plain" offers no plans; leave spec.plan empty`},
		{name: "no plan, no plans", export: "plain"},
		{name: "export not cached yet", export: "later", plan: "anything"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &apisv1alpha1.APIBinding{Spec: apisv1alpha1.APIBindingSpec{
				Reference: apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: "root:prov", Name: tc.export}},
				Plan:      tc.plan,
			}}
			errs := a.checkPlan(cluster.WithCluster(t.Context(), "cons"), b)
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			require.Equal(t, tc.want, errs[0].Error())
		})
	}
}
