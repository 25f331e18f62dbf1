package authorization

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/accountmesh/accountmesh/pkg/admission/validatingpolicy"
	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	authz "github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const (
	root cluster.ID = "root000000000000"
	acc  cluster.ID = "acc0000000000000"
	kid  cluster.ID = "kid0000000000000"
)

func setup(t *testing.T) (*authz.Policy, *cluster.Index) {
	t.Helper()
	idx := cluster.NewIndex(root)
	idx.Set(root, "acc", acc, cluster.Attributes{Type: "org"})
	idx.Set(acc, "kid", kid, cluster.Attributes{Type: "account"})
	p := authz.NewPolicy(idx)
	h := p.Handlers()["clusterrolebindings"]
	h.OnAdd(&rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "view", Annotations: map[string]string{"accountmesh.io/cluster": string(acc)}, Labels: map[string]string{"accountmesh.io/inherit": "true"}},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "vic"}},
	}, false)
	return p, idx
}

func request(id cluster.ID, name string) context.Context {
	return genericapirequest.WithUser(cluster.WithCluster(context.Background(), id), &user.DefaultInfo{Name: name})
}

func TestReviews(t *testing.T) {
	t.Parallel()
	p, _ := setup(t)
	ssar := &AccessReviewREST{Authorizer: authz.NewAuthorizer(p, nil)}
	for _, tc := range []struct {
		name string
		in   cluster.ID
		spec authorizationv1.SelfSubjectAccessReviewSpec
		want bool
	}{
		{"inherited view reads", kid, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps"}}, true},
		{"no secrets", kid, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets"}}, false},
		{"discovery", acc, authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/apis"}}, true},
		{"nothing in root", root, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps"}}, false},
	} {
		out, err := ssar.Create(request(tc.in, "vic"), &authorizationv1.SelfSubjectAccessReview{Spec: tc.spec}, nil, nil)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, out.(*authorizationv1.SelfSubjectAccessReview).Status.Allowed, tc.name)
	}
	_, err := ssar.Create(request(acc, "vic"), &authorizationv1.SelfSubjectAccessReview{}, nil, nil)
	require.True(t, apierrors.IsInvalid(err), "%v", err)

	ssrr := &RulesReviewREST{Rules: p}
	out, err := ssrr.Create(request(kid, "vic"), &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "default"}}, nil, nil)
	require.NoError(t, err)
	status := out.(*authorizationv1.SelfSubjectRulesReview).Status
	require.Contains(t, status.ResourceRules, authorizationv1.ResourceRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}})
	require.Len(t, status.NonResourceRules, 1)
	_, err = ssrr.Create(request(cluster.Wildcard, "vic"), &authorizationv1.SelfSubjectRulesReview{}, nil, nil)
	require.True(t, apierrors.IsMethodNotSupported(err), "%v", err)
}

func TestViews(t *testing.T) {
	t.Parallel()
	p, idx := setup(t)
	s := NewStorage(p, validatingpolicy.NewIndex(idx, nil), webhook.NewIndex(idx), idx)
	list, err := s["accessibleaccounts"].(*AccessibleAccountREST).List(request(root, "vic"), nil)
	require.NoError(t, err)
	var paths []string
	for _, a := range list.(*authorizationv1alpha1.AccessibleAccountList).Items {
		paths = append(paths, a.Spec.Path)
	}
	require.Equal(t, []string{"root:acc", "root:acc:kid"}, paths)
	got, err := s["accessibleaccounts"].(*AccessibleAccountREST).Get(request(kid, "vic"), "root:acc:kid", nil)
	require.NoError(t, err)
	require.Equal(t, "account", got.(*authorizationv1alpha1.AccessibleAccount).Spec.Type)
	_, err = s["accessibleaccounts"].(*AccessibleAccountREST).Get(request(kid, "vic"), "root:acc", nil)
	require.True(t, apierrors.IsNotFound(err), "only the subtree of the request's account")

	grants, err := s["accessgrants"].(*AccessGrantREST).List(request(kid, "vic"), nil)
	require.NoError(t, err)
	items := grants.(*authorizationv1alpha1.AccessGrantList).Items
	require.Len(t, items, 1)
	require.Equal(t, "root:acc.clusterrolebinding.view", items[0].Name)
	require.Equal(t, authorizationv1alpha1.AccessGrantSpec{Account: "root:acc", Inherited: true, Inheritable: true, Kind: "ClusterRoleBinding", Name: "view",
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "vic"}}}, items[0].Spec)
	require.Equal(t, "user:vic", SubjectsString(items[0].Spec.Subjects))
}

// TestSubjectAccessReviews asks about others: the answer is the authorizer's in the request's
// account, and nothing in the spec makes it more generous than the subject's own requests.
func TestSubjectAccessReviews(t *testing.T) {
	t.Parallel()
	p, _ := setup(t)
	h := p.Handlers()
	h["clusterrolebindings"].OnAdd(&rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "devs", Annotations: map[string]string{"accountmesh.io/cluster": string(kid)}},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.GroupKind, Name: "devs"},
			{Kind: rbacv1.GroupKind, Name: "accountmesh:subtree:root"},
			{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: "bot"},
		},
	}, false)
	h["rolebindings"].OnAdd(&rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ops", Namespace: "ops", Annotations: map[string]string{"accountmesh.io/cluster": string(kid)}},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "olga"}},
	}, false)
	z := authz.NewAuthorizer(p, nil)
	sar := &SubjectAccessReviewREST{Authorizer: z}
	createSecrets := &authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: "default"}
	confinedTo := func(ids ...cluster.ID) map[string]authorizationv1.ExtraValue {
		v := authorizationv1.ExtraValue{}
		for _, id := range ids {
			v = append(v, string(id))
		}
		return map[string]authorizationv1.ExtraValue{"accountmesh.io/account": v}
	}
	for _, tc := range []struct {
		name string
		in   cluster.ID
		spec authorizationv1.SubjectAccessReviewSpec
		want bool
	}{
		{"a group's grant", kid, authorizationv1.SubjectAccessReviewSpec{Groups: []string{"devs"}, ResourceAttributes: createSecrets}, true},
		{"the grant is the account's own", acc, authorizationv1.SubjectAccessReviewSpec{Groups: []string{"devs"}, ResourceAttributes: createSecrets}, false},
		{"inherited grants count", kid, authorizationv1.SubjectAccessReviewSpec{User: "vic", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps"}}, true},
		{"reserved groups confer nothing", kid, authorizationv1.SubjectAccessReviewSpec{User: "mallory", Groups: []string{"accountmesh:subtree:root"}, ResourceAttributes: createSecrets}, false},
		{"the account's ServiceAccount", kid, authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:default:bot", ResourceAttributes: createSecrets}, true},
		{"confined to the account", kid, authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:default:bot", Extra: confinedTo(kid), ResourceAttributes: createSecrets}, true},
		{"confined elsewhere", kid, authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:default:bot", Extra: confinedTo(acc), ResourceAttributes: createSecrets}, false},
		{"confined elsewhere, key in another case", kid, authorizationv1.SubjectAccessReviewSpec{User: "vic",
			Extra: map[string]authorizationv1.ExtraValue{"Accountmesh.io/Account": {string(acc)}}, ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps"}}, false},
		{"confined to two accounts", kid, authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:default:bot", Extra: confinedTo(kid, acc), ResourceAttributes: createSecrets}, false},
		{"confined twice to the account", kid, authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:default:bot", Extra: confinedTo(kid, kid), ResourceAttributes: createSecrets}, true},
		{"system:masters", kid, authorizationv1.SubjectAccessReviewSpec{User: "x", Groups: []string{"system:masters"}, ResourceAttributes: createSecrets}, true},
		{"system:masters confined elsewhere", kid, authorizationv1.SubjectAccessReviewSpec{User: "x", Groups: []string{"system:masters"}, Extra: confinedTo(acc), ResourceAttributes: createSecrets}, false},
		{"a RoleBinding in its namespace", kid, authorizationv1.SubjectAccessReviewSpec{User: "olga", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: "ops"}}, true},
		{"a RoleBinding elsewhere", kid, authorizationv1.SubjectAccessReviewSpec{User: "olga", ResourceAttributes: createSecrets}, false},
		{"discovery with access", kid, authorizationv1.SubjectAccessReviewSpec{User: "olga", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/apis"}}, true},
		{"discovery without access", acc, authorizationv1.SubjectAccessReviewSpec{User: "olga", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/apis"}}, false},
	} {
		out, err := sar.Create(request(tc.in, "asker"), &authorizationv1.SubjectAccessReview{Spec: tc.spec}, nil, nil)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, out.(*authorizationv1.SubjectAccessReview).Status.Allowed, tc.name)
	}

	for name, review := range map[string]*authorizationv1.SubjectAccessReview{
		"no subject":         {Spec: authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: createSecrets}},
		"no attributes":      {Spec: authorizationv1.SubjectAccessReviewSpec{User: "u"}},
		"both attributes":    {Spec: authorizationv1.SubjectAccessReviewSpec{User: "u", ResourceAttributes: createSecrets, NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/"}}},
		"a name in metadata": {ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: authorizationv1.SubjectAccessReviewSpec{User: "u", ResourceAttributes: createSecrets}},
		"labels in metadata": {ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}, Spec: authorizationv1.SubjectAccessReviewSpec{User: "u", ResourceAttributes: createSecrets}},
	} {
		_, err := sar.Create(request(kid, "asker"), review, nil, nil)
		require.True(t, apierrors.IsInvalid(err), "%s: %v", name, err)
	}
	_, err := sar.Create(request(cluster.Wildcard, "asker"), &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "u", ResourceAttributes: createSecrets}}, nil, nil)
	require.True(t, apierrors.IsMethodNotSupported(err), "%v", err)

	lsar := &LocalSubjectAccessReviewREST{Authorizer: z}
	local := func(ns string, spec authorizationv1.SubjectAccessReviewSpec) (*authorizationv1.LocalSubjectAccessReview, error) {
		ctx := genericapirequest.WithNamespace(request(kid, "asker"), "ops")
		out, err := lsar.Create(ctx, &authorizationv1.LocalSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Namespace: ns}, Spec: spec}, nil, nil)
		if err != nil {
			return nil, err
		}
		return out.(*authorizationv1.LocalSubjectAccessReview), nil
	}
	out, err := local("ops", authorizationv1.SubjectAccessReviewSpec{User: "olga", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: "ops"}})
	require.NoError(t, err)
	require.True(t, out.Status.Allowed)
	out, err = local("ops", authorizationv1.SubjectAccessReviewSpec{User: "vic", ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: "ops"}})
	require.NoError(t, err)
	require.False(t, out.Status.Allowed)
	_, err = local("ops", authorizationv1.SubjectAccessReviewSpec{User: "olga", ResourceAttributes: createSecrets})
	require.True(t, apierrors.IsInvalid(err), "another namespace in the spec: %v", err)
	require.ErrorContains(t, err, "spec.resourceAttributes.namespace: Invalid value: \"default\": must match metadata.namespace")
	_, err = local("ops", authorizationv1.SubjectAccessReviewSpec{User: "olga", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/apis"}})
	require.True(t, apierrors.IsInvalid(err), "non-resource attributes: %v", err)
	_, err = local("default", authorizationv1.SubjectAccessReviewSpec{User: "olga", ResourceAttributes: createSecrets})
	require.True(t, apierrors.IsBadRequest(err), "another namespace than the request's: %v", err)
}
