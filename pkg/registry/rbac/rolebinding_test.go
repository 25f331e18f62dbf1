package rbac

import (
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
)

var (
	roleRef        = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "edit"}
	clusterRoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:view"}
	user           = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice@example.com"}
	group          = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}
	serviceAccount = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: "builder"}
)

func TestValidateRoleBinding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		want     []string
	}{
		{name: "role", ref: roleRef, subjects: []rbacv1.Subject{user, group, serviceAccount}},
		{name: "cluster role", ref: clusterRoleRef},
		{name: "service account without namespace", ref: roleRef, subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "builder"}}},
		{name: "wrong api group", ref: rbacv1.RoleRef{APIGroup: "example.com", Kind: "Role", Name: "edit"}, want: []string{"roleRef.apiGroup"}},
		{name: "wrong kind", ref: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "edit"}, want: []string{"roleRef.kind"}},
		{name: "no role name", ref: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role"}, want: []string{"roleRef.name"}},
		{name: "invalid role name", ref: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "a/b"}, want: []string{"roleRef.name"}},
		{name: "subject without name", ref: roleRef, subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName}},
			want: []string{"subjects[0].name"}},
		{name: "unknown subject kind", ref: roleRef, subjects: []rbacv1.Subject{{Kind: "Robot", Name: "r2"}},
			want: []string{"subjects[0].kind"}},
		{name: "user with core group", ref: roleRef, subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}},
			want: []string{"subjects[0].apiGroup"}},
		{name: "group with other group", ref: roleRef, subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: "example.com", Name: "devs"}},
			want: []string{"subjects[0].apiGroup"}},
		{name: "service account with rbac group", ref: roleRef, subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, APIGroup: rbacv1.GroupName, Namespace: "default", Name: "builder"},
		}, want: []string{"subjects[0].apiGroup"}},
		{name: "service account with invalid name", ref: roleRef, subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: "Builder_1"},
		}, want: []string{"subjects[0].name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &rbacv1.RoleBinding{RoleRef: tc.ref, Subjects: tc.subjects}
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(roleBindingOptions().Validate(t.Context(), b)))
		})
	}
}

func TestValidateClusterRoleBinding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		want     []string
	}{
		{name: "cluster role", ref: clusterRoleRef, subjects: []rbacv1.Subject{user, group, serviceAccount}},
		{name: "role", ref: roleRef, want: []string{"roleRef.kind"}},
		{name: "service account without namespace", ref: clusterRoleRef,
			subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "builder"}}, want: []string{"subjects[0].namespace"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &rbacv1.ClusterRoleBinding{RoleRef: tc.ref, Subjects: tc.subjects}
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(clusterRoleBindingOptions().Validate(t.Context(), b)))
		})
	}
}

func TestValidateRoleRefUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ref, old rbacv1.RoleRef
		want     []string
	}{
		{name: "unchanged", ref: roleRef, old: roleRef},
		{name: "other name", ref: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "admin"}, old: roleRef,
			want: []string{"roleRef"}},
		{name: "other kind", ref: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, old: roleRef,
			want: []string{"roleRef"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateRoleRefUpdate(tc.ref, tc.old)))
		})
	}
}

func TestDefaultBinding(t *testing.T) {
	t.Parallel()
	ref := rbacv1.RoleRef{Kind: "Role", Name: "edit"}
	subjects := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"},
		{Kind: rbacv1.GroupKind, Name: "devs"},
		{Kind: rbacv1.ServiceAccountKind, Name: "builder"},
		{Kind: rbacv1.UserKind, APIGroup: "example.com", Name: "bob"},
	}
	defaultBinding(&ref, subjects)
	require.Equal(t, rbacv1.GroupName, ref.APIGroup)
	require.Equal(t, []string{rbacv1.GroupName, rbacv1.GroupName, "", "example.com"},
		[]string{subjects[0].APIGroup, subjects[1].APIGroup, subjects[2].APIGroup, subjects[3].APIGroup})
	require.Empty(t, roleBindingOptions().Validate(t.Context(), &rbacv1.RoleBinding{RoleRef: ref, Subjects: subjects[:3]}))
}

func TestBindingColumns(t *testing.T) {
	t.Parallel()
	b := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"},
		RoleRef:    roleRef,
		Subjects: []rbacv1.Subject{
			user, group, serviceAccount,
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"},
			{Kind: rbacv1.ServiceAccountKind, Name: "local"},
		},
	}
	o := roleBindingOptions()
	table, err := store.NewTableConvertor(o.Resource, o.Columns...).ConvertToTable(t.Context(), b, nil)
	require.NoError(t, err)
	require.Len(t, table.Rows, 1)
	require.Equal(t, []interface{}{
		"b", "Role/edit", "<unknown>", "alice@example.com, bob", "system:authenticated", "default/builder, local",
	}, table.Rows[0].Cells)
	for i, want := range []int32{0, 0, 0, 1, 1, 1} {
		require.Equal(t, want, table.ColumnDefinitions[i].Priority, table.ColumnDefinitions[i].Name)
	}
}
