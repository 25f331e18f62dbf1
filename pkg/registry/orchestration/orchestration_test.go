package orchestration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func ref(name string, deps ...string) orchestrationv1alpha1.Member {
	return orchestrationv1alpha1.Member{Name: name, DependsOn: deps,
		Ref: &orchestrationv1alpha1.MemberReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: name}}
}

func TestValidateSpec(t *testing.T) {
	t.Parallel()
	many := make([]orchestrationv1alpha1.Member, orchestrationv1alpha1.MaxMembers+1)
	for i := range many {
		many[i] = ref(fmt.Sprintf("m%d", i))
	}
	selector := ref("sel")
	selector.Ref, selector.Selector = nil, &orchestrationv1alpha1.MemberSelector{APIVersion: "v1", Kind: "ConfigMap",
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}
	badSelector := selector
	badSelector.Selector = &orchestrationv1alpha1.MemberSelector{APIVersion: "v1",
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"not a key!": "x"}}}
	selectors := make([]orchestrationv1alpha1.Member, orchestrationv1alpha1.MaxSelectors+1)
	for i := range selectors {
		selectors[i] = selector
		selectors[i].Name = fmt.Sprintf("s%d", i)
	}
	both := ref("both")
	both.Selector = &orchestrationv1alpha1.MemberSelector{APIVersion: "v1", Kind: "ConfigMap"}
	badCEL := ref("db")
	badCEL.Readiness = "self.status.("
	for _, tc := range []struct {
		name    string
		members []orchestrationv1alpha1.Member
		want    string
	}{
		{"valid", []orchestrationv1alpha1.Member{ref("a", "b"), ref("b")}, ""},
		{"empty", nil, "spec.members: Required value"},
		{"too many", many, "spec.members: Too many: 501: must have at most 500 items"},
		{"bad name", []orchestrationv1alpha1.Member{ref("Not_A_Label")}, "spec.members[0].name: Invalid value"},
		{"duplicate name", []orchestrationv1alpha1.Member{ref("a"), ref("a")}, "spec.members[1].name: Duplicate value"},
		{"unknown dependency", []orchestrationv1alpha1.Member{ref("a", "zz")}, `spec.members[0].dependsOn[0]: Not found: "zz"`},
		{"self dependency", []orchestrationv1alpha1.Member{ref("a", "a")}, `member "a" may not depend on itself`},
		{"cycle", []orchestrationv1alpha1.Member{ref("a", "b"), ref("b", "c"), ref("c", "a")}, "form a cycle: a -> b -> c -> a"},
		{"selector", []orchestrationv1alpha1.Member{selector, ref("a", "sel")}, ""},
		{"bad selector", []orchestrationv1alpha1.Member{badSelector}, "spec.members[0].selector.kind: Required value"},
		{"bad label selector", []orchestrationv1alpha1.Member{badSelector}, `spec.members[0].selector.labelSelector.matchLabels: Invalid value: "not a key!"`},
		{"too many selectors", selectors, "spec.members: Invalid value: 11: a context has at most 10 selector members"},
		{"ref and selector", []orchestrationv1alpha1.Member{both}, "may set only one of ref and selector"},
		{"readiness", []orchestrationv1alpha1.Member{badCEL}, `spec.members[0].readiness: Invalid value: "self.status.(": member "db": failed to compile`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := validateSpec(&orchestrationv1alpha1.OrchestrationContextSpec{Members: tc.members})
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.Contains(t, errs.ToAggregate().Error(), tc.want)
		})
	}
}

// fakeIndex knows accounts by path; an account named root:<x>:<y> is a child of root:<x>.
type fakeIndex map[string]cluster.ID

func (x fakeIndex) Resolve(pathOrID string) (cluster.ID, bool) {
	id, ok := x[pathOrID]
	return id, ok
}

func (x fakeIndex) Children(id cluster.ID) []cluster.ID {
	var out []cluster.ID
	for p, i := range x {
		if i == id {
			for q, j := range x {
				if strings.HasPrefix(q, p+":") && !strings.Contains(strings.TrimPrefix(q, p+":"), ":") {
					out = append(out, j)
				}
			}
		}
	}
	return out
}

// fakeAuthorizer allows users verbs on resources in accounts: "user/account/verb/resource".
type fakeAuthorizer map[string]bool

func (f fakeAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	id, _ := cluster.FromContext(ctx)
	if f[fmt.Sprintf("%s/%s/%s/%s", a.GetUser().GetName(), id, a.GetVerb(), a.GetResource())] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func TestAccessCheck(t *testing.T) {
	t.Parallel()
	a := &access{deps: Deps{
		Index: fakeIndex{"root:app": "app", "root:data": "data"},
		Authorizer: authorizer.AuthorizerFunc(fakeAuthorizer{
			"alice/app/get/configmaps": true, "alice/app/watch/configmaps": true,
			"alice/data/get/configmaps": true, "alice/data/watch/configmaps": true,
			"bob/app/get/configmaps": true, "bob/app/watch/configmaps": true,
			"bob/data/get/configmaps":  true,
			"carol/app/get/namespaces": true, "carol/app/watch/namespaces": true,
		}.Authorize),
		Resources: func(_ context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error) {
			if gv.String() != "v1" {
				return nil, apierrors.NewNotFound(schema.GroupResource{}, gv.String())
			}
			return []metav1.APIResource{
				{Name: "configmaps", Kind: "ConfigMap", Namespaced: true},
				{Name: "namespaces", Kind: "Namespace"},
				{Name: "namespaces/status", Kind: "Namespace"},
			}, nil
		},
	}}
	member := func(account, apiVersion, kind, namespace string) orchestrationv1alpha1.Member {
		return orchestrationv1alpha1.Member{Name: "db", Ref: &orchestrationv1alpha1.MemberReference{
			Account: account, APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: "x"}}
	}
	check := func(u string, members ...orchestrationv1alpha1.Member) error {
		ctx := genericapirequest.WithUser(cluster.WithCluster(context.Background(), "app"), &user.DefaultInfo{Name: u})
		oc := &orchestrationv1alpha1.OrchestrationContext{ObjectMeta: metav1.ObjectMeta{Name: "ctx", Namespace: "default"},
			Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: members}}
		return a.check(ctx, oc)
	}
	here := member("", "v1", "ConfigMap", "default")
	require.NoError(t, check("alice", here, member("root:data", "v1", "ConfigMap", "default")))
	require.NoError(t, check("carol", member("", "v1", "Namespace", "")))

	// Refused alike whatever is missing, naming only the entry.
	forbidden := check("bob", here, member("root:data", "v1", "ConfigMap", "default"))
	require.True(t, apierrors.IsForbidden(forbidden), "%v", forbidden)
	require.Contains(t, forbidden.Error(), `user "bob" may not get and watch spec.members[1] ("db")`)
	for _, m := range []orchestrationv1alpha1.Member{
		member("root:nowhere", "v1", "ConfigMap", "default"),
		member("root:data", "v1", "Unknown", "default"),
		member("root:data", "example.com/v1", "ConfigMap", "default"),
	} {
		require.Equal(t, forbidden.Error(), check("bob", here, m).Error())
	}
	require.NotContains(t, forbidden.Error(), "root:data")

	// Deleting members needs delete on each.
	err := a.check(genericapirequest.WithUser(cluster.WithCluster(context.Background(), "app"), &user.DefaultInfo{Name: "alice"}),
		&orchestrationv1alpha1.OrchestrationContext{ObjectMeta: metav1.ObjectMeta{Name: "ctx", Namespace: "default"},
			Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: []orchestrationv1alpha1.Member{here}, DeletionPolicy: orchestrationv1alpha1.DeletionPolicyDelete}})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.Contains(t, err.Error(), `user "alice" may not get, watch and delete spec.members[0] ("db")`)

	// Scope mistakes are reported only to those who may read the member.
	err = check("alice", member("", "v1", "ConfigMap", ""))
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	require.Contains(t, err.Error(), "kind ConfigMap is namespaced")
	err = check("carol", member("", "v1", "Namespace", "default"))
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	require.Contains(t, err.Error(), "kind Namespace is cluster-scoped")
	require.True(t, apierrors.IsForbidden(check("bob", member("", "v1", "Namespace", "default"))))
}

func TestSetRequester(t *testing.T) {
	t.Parallel()
	ctxAs := func(name string) context.Context {
		return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: name, Groups: []string{"devs"}, Extra: map[string][]string{"k": {"v"}}})
	}
	forged := `{"username":"admin","groups":["system:masters"]}`
	oc := &orchestrationv1alpha1.OrchestrationContext{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{orchestrationv1alpha1.RequesterAnnotation: forged}},
		Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: []orchestrationv1alpha1.Member{ref("a")}}}
	setRequester(ctxAs("alice"), oc, nil)
	alice := oc.Annotations[orchestrationv1alpha1.RequesterAnnotation]
	require.JSONEq(t, `{"username":"alice","groups":["devs"],"extra":{"k":["v"]}}`, alice)

	// Members unchanged: the old requester stays, whatever the update sends.
	var updated *orchestrationv1alpha1.OrchestrationContext
	for _, sent := range []map[string]string{{orchestrationv1alpha1.RequesterAnnotation: forged}, nil} {
		updated = oc.DeepCopy()
		updated.Annotations = sent
		setRequester(ctxAs("mallory"), updated, oc)
		require.Equal(t, alice, updated.Annotations[orchestrationv1alpha1.RequesterAnnotation])
	}
	// The deletion policy changed: the one who changed it is the requester.
	updated = oc.DeepCopy()
	updated.Spec.DeletionPolicy = orchestrationv1alpha1.DeletionPolicyDelete
	setRequester(ctxAs("carol"), updated, oc)
	require.True(t, strings.HasPrefix(updated.Annotations[orchestrationv1alpha1.RequesterAnnotation], `{"username":"carol"`))

	// Members changed: the one who changed them is the requester.
	updated = oc.DeepCopy()
	updated.Spec.Members = append(updated.Spec.Members, ref("b"))
	setRequester(ctxAs("bob"), updated, oc)
	require.True(t, strings.HasPrefix(updated.Annotations[orchestrationv1alpha1.RequesterAnnotation], `{"username":"bob"`))
}

// fakeRules holds, per user and account, the resources the user may get, list and watch (and
// delete) through inherited bindings.
type fakeRules map[string][]string

func (f fakeRules) RulesFor(u user.Info, id cluster.ID, _ string, inheritedOnly bool) []rbacv1.PolicyRule {
	if !inheritedOnly {
		return nil
	}
	return []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: f[u.GetName()+"/"+string(id)]}}
}

// TestAccessCheckSelector checks selector members: get, list and watch of the kind in the
// account; over a subtree, through inherited bindings; the same answer for a missing account
// or kind; caps on accounts and matches once the user passes.
func TestAccessCheckSelector(t *testing.T) {
	t.Parallel()
	grants := fakeAuthorizer{}
	for _, u := range []string{"alice", "bob", "carol"} {
		for _, verb := range []string{"get", "list", "watch"} {
			grants[u+"/app/"+verb+"/configmaps"] = true
		}
	}
	delete(grants, "carol/app/list/configmaps")
	counts := map[cluster.ID]int{"app": 3, "team": 60, "deep": 60}
	index := fakeIndex{"root:app": "app", "root:app:team": "team", "root:app:team:deep": "deep", "root:data": "data"}
	a := &access{deps: Deps{
		Index:      index,
		Authorizer: authorizer.AuthorizerFunc(grants.Authorize),
		Rules:      fakeRules{"alice/app": {"configmaps"}},
		Resources: func(_ context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error) {
			if gv.String() != "v1" {
				return nil, apierrors.NewNotFound(schema.GroupResource{}, gv.String())
			}
			return []metav1.APIResource{{Name: "configmaps", Kind: "ConfigMap", Namespaced: true}}, nil
		},
		Count: func(_ context.Context, id cluster.ID, _ schema.GroupVersionResource, selector string, limit int) (int, error) {
			require.Equal(t, "app=x", selector)
			return min(counts[id], limit+1), nil
		},
	}}
	sel := func(account, kind string, subtree bool) orchestrationv1alpha1.Member {
		return orchestrationv1alpha1.Member{Name: "all", Selector: &orchestrationv1alpha1.MemberSelector{Account: account, APIVersion: "v1", Kind: kind,
			Subtree: subtree, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}}
	}
	check := func(u string, members ...orchestrationv1alpha1.Member) error {
		ctx := genericapirequest.WithUser(cluster.WithCluster(context.Background(), "app"), &user.DefaultInfo{Name: u})
		return a.check(ctx, &orchestrationv1alpha1.OrchestrationContext{ObjectMeta: metav1.ObjectMeta{Name: "ctx", Namespace: "default"},
			Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: members}})
	}
	require.NoError(t, check("alice", sel("", "ConfigMap", false)))
	require.NoError(t, check("bob", sel("root:app", "ConfigMap", false)))

	// carol may get and watch but not list: refused, as for a missing account or kind.
	forbidden := check("carol", sel("", "ConfigMap", false))
	require.True(t, apierrors.IsForbidden(forbidden), "%v", forbidden)
	require.Contains(t, forbidden.Error(), `user "carol" may not get, list and watch the kind selected by spec.members[0] ("all")`)
	for _, m := range []orchestrationv1alpha1.Member{sel("root:nowhere", "ConfigMap", false), sel("", "Unknown", false), sel("root:data", "ConfigMap", false)} {
		require.Equal(t, forbidden.Error(), check("carol", m).Error())
	}

	// Over a subtree, bob's grant in the account does not do: it must be inherited.
	err := check("bob", sel("", "ConfigMap", true))
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.Contains(t, err.Error(), `user "bob" may not get, list and watch, through inherited bindings, the kind selected by spec.members[0] ("all")`)
	// alice's is, but the subtree's objects are more than the cap; below team only, fewer.
	err = check("alice", sel("", "ConfigMap", true))
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	require.Contains(t, err.Error(), `spec.members[0].selector.labelSelector: Invalid value: "app=x": member "all": the selector matches more than 100 objects`)
	counts["deep"] = 30
	require.NoError(t, check("alice", sel("", "ConfigMap", true)))

	// More accounts than the cap: refused before any object is counted.
	many := fakeIndex{"root:app": "app"}
	for i := range orchestrationv1alpha1.MaxSelectorAccounts {
		many[fmt.Sprintf("root:app:c%d", i)] = cluster.ID(fmt.Sprintf("c%d", i))
	}
	a.deps.Index = many
	err = check("alice", sel("", "ConfigMap", true))
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	require.Contains(t, err.Error(), `spec.members[0].selector.subtree: Invalid value: true: member "all": the selector spans more than 100 accounts`)
}
