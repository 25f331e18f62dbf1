package rbacescalation

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	const root, acc cluster.ID = "root000000000000", "acc0000000000000"
	idx := cluster.NewIndex(root)
	idx.Set(root, "acc", acc, cluster.Attributes{})
	policy := authorization.NewPolicy(idx)
	h := policy.Handlers()
	annotated := func(m metav1.ObjectMeta) metav1.ObjectMeta {
		m.Annotations = map[string]string{corev1alpha1.ClusterAnnotation: string(acc)}
		return m
	}
	add := func(resource string, obj runtime.Object) { h[resource].(cache.ResourceEventHandlerFuncs).AddFunc(obj) }
	bind := func(name, role, subject string, inherit bool) *rbacv1.ClusterRoleBinding {
		m := metav1.ObjectMeta{Name: name}
		if inherit {
			m.Labels = map[string]string{corev1alpha1.InheritLabel: "true"}
		}
		return &rbacv1.ClusterRoleBinding{ObjectMeta: annotated(m), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: subject}}}
	}
	add("clusterrolebindings", bind("local-admin", "admin", "lea", false))
	add("clusterrolebindings", bind("owner", "admin", "oscar", true))
	add("clusterroles", &rbacv1.ClusterRole{ObjectMeta: annotated(metav1.ObjectMeta{Name: "binder"}),
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"bind"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, ResourceNames: []string{"powerful"}}}})
	add("clusterroles", &rbacv1.ClusterRole{ObjectMeta: annotated(metav1.ObjectMeta{Name: "powerful"}),
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}})
	add("clusterrolebindings", bind("bob-binds", "binder", "bob", false))
	p := New(authorization.NewAuthorizer(policy, nil), policy)

	invite := func(role string, inherit bool) *iamv1alpha1.Invite {
		return &iamv1alpha1.Invite{ObjectMeta: metav1.ObjectMeta{Name: "i"}, Spec: iamv1alpha1.InviteSpec{Email: "x@example.com", Role: role, Inherit: inherit}}
	}
	secrets := []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}
	all := []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
	for _, tc := range []struct {
		name    string
		user    string
		obj     runtime.Object
		wantErr string
	}{
		{"role within what admin holds", "lea", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: secrets}, ""},
		{"role beyond what admin holds", "lea", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: all}, "not currently held"},
		{"namespaced role beyond", "lea", &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Rules: all}, "not currently held"},
		{"aggregation needs escalate", "lea", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"a": "b"}}}}}, "escalate"},
		{"binding of a held role", "lea", bind("b", "edit", "x", false), ""},
		{"binding of a role beyond", "lea", bind("b", "powerful", "x", false), "not currently held"},
		{"binding of an unknown role", "lea", bind("b", "nope", "x", false), "does not exist"},
		{"inherited binding from a local grant", "lea", bind("b", "view", "x", true), "through inherited bindings"},
		{"inherited binding from an inherited grant", "oscar", bind("b", "admin", "x", true), ""},
		{"bind permission on the role", "bob", bind("b", "powerful", "x", false), ""},
		{"bind permission on another role", "bob", bind("b", "admin", "x", false), "not currently held"},
		{"nobody", "eve", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: secrets}, "not currently held"},
		{"masters", "ops", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: all}, ""},
		{"invite to a held role", "lea", invite("edit", false), ""},
		{"invite to a role beyond", "lea", invite("powerful", false), "with its creator's rights"},
		{"inherited invite from a local grant", "lea", invite("view", true), "through inherited bindings"},
		{"inherited invite from an inherited grant", "oscar", invite("admin", true), ""},
		{"invite by who may bind but not write the grant", "bob", invite("powerful", false), "may neither create"},
		{"invite by nobody", "eve", invite("view", false), "may neither create"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := &user.DefaultInfo{Name: tc.user}
			if tc.user == "ops" {
				u.Groups = []string{user.SystemPrivilegedGroup}
			}
			m, _ := tc.obj.(metav1.Object)
			var resource string
			gv := rbacv1.SchemeGroupVersion
			switch tc.obj.(type) {
			case *iamv1alpha1.Invite:
				resource, gv = "invites", iamv1alpha1.SchemeGroupVersion
			case *rbacv1.Role:
				resource = "roles"
			case *rbacv1.ClusterRole:
				resource = "clusterroles"
			default:
				resource = "clusterrolebindings"
			}
			attrs := admission.NewAttributesRecord(tc.obj, nil, gv.WithKind(""), m.GetNamespace(), m.GetName(),
				gv.WithResource(resource), "", admission.Create, nil, false, u)
			err := p.Validate(cluster.WithCluster(context.Background(), acc), attrs, nil)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			require.True(t, apierrors.IsForbidden(err), "%v", err)
		})
	}
}
