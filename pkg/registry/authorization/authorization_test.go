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
	s := NewStorage(p, idx)
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
