package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestRBACKubectlCreate creates roles, cluster roles and their bindings with kubectl create and
// reads them back with kubectl get, as in a real cluster.
func TestRBACKubectlCreate(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig

	out := framework.Kubectl(t, kc, "create", "role", "reader", "-n", "default",
		"--verb=get", "--verb=list", "--resource=configmaps,secrets", "--resource=leases.coordination.k8s.io")
	require.Equal(t, "role.rbac.authorization.k8s.io/reader created\n", out)
	framework.Kubectl(t, kc, "create", "role", "one-map", "-n", "default", "--verb=get,update", "--resource=configmaps", "--resource-name=settings")
	framework.Kubectl(t, kc, "create", "rolebinding", "reader-binding", "-n", "default",
		"--role=reader", "--user=alice", "--group=devs", "--serviceaccount=default:robot")
	framework.Kubectl(t, kc, "create", "clusterrole", "ns-watcher", "--verb=get,list,watch", "--resource=namespaces")
	framework.Kubectl(t, kc, "create", "clusterrole", "health", "--verb=get", "--non-resource-url=/healthz", "--non-resource-url=/readyz")
	framework.Kubectl(t, kc, "create", "rolebinding", "watch-here", "-n", "default", "--clusterrole=ns-watcher", "--user=bob")
	out = framework.Kubectl(t, kc, "create", "clusterrolebinding", "ns-watchers",
		"--clusterrole=ns-watcher", "--user=carol", "--group=ops", "--group=sre", "--serviceaccount=kube-system:bot")
	require.Equal(t, "clusterrolebinding.rbac.authorization.k8s.io/ns-watchers created\n", out)

	t.Run("roles", func(t *testing.T) {
		role, err := a.Kube.RbacV1().Roles("default").Get(ctx, "reader", metav1.GetOptions{})
		require.NoError(t, err)
		require.ElementsMatch(t, []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}},
			{Verbs: []string{"get", "list"}, APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}},
		}, role.Rules)
		role, err = a.Kube.RbacV1().Roles("default").Get(ctx, "one-map", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, []rbacv1.PolicyRule{
			{Verbs: []string{"get", "update"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"settings"}},
		}, role.Rules)

		out := framework.Kubectl(t, kc, "get", "roles", "-n", "default")
		header, rows := kubectlTable(t, out)
		// A real cluster prints roles with the default columns: NAME and CREATED AT.
		require.Equal(t, []string{"NAME", "CREATED AT"}, header, out)
		require.Len(t, rows, 2, out)
		require.Equal(t, "one-map", rows[0]["NAME"], out)
		require.Equal(t, "reader", rows[1]["NAME"], out)
		require.Equal(t, role.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z"), rows[0]["CREATED AT"], out)

		out = framework.Kubectl(t, kc, "describe", "role", "reader", "-n", "default")
		require.Regexp(t, `configmaps\s+\[\]\s+\[\]\s+\[get list\]`, out)
		require.Regexp(t, `leases\.coordination\.k8s\.io\s+\[\]\s+\[\]\s+\[get list\]`, out)
	})

	t.Run("cluster roles", func(t *testing.T) {
		cr, err := a.Kube.RbacV1().ClusterRoles().Get(ctx, "ns-watcher", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, []rbacv1.PolicyRule{
			{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"namespaces"}},
		}, cr.Rules)
		cr, err = a.Kube.RbacV1().ClusterRoles().Get(ctx, "health", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/readyz"}}}, cr.Rules)

		out := framework.Kubectl(t, kc, "get", "clusterroles", "ns-watcher", "health")
		header, rows := kubectlTable(t, out)
		require.Equal(t, []string{"NAME", "CREATED AT"}, header, out)
		require.Len(t, rows, 2, out)
		require.Equal(t, "ns-watcher", rows[0]["NAME"], out)
		require.Equal(t, "health", rows[1]["NAME"], out)
	})

	t.Run("role bindings", func(t *testing.T) {
		rb, err := a.Kube.RbacV1().RoleBindings("default").Get(ctx, "reader-binding", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"}, rb.RoleRef)
		require.ElementsMatch(t, []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"},
			{Kind: rbacv1.ServiceAccountKind, Name: "robot", Namespace: "default"},
		}, rb.Subjects)

		out := framework.Kubectl(t, kc, "get", "rolebindings", "-n", "default", "-o", "wide")
		header, rows := kubectlTable(t, out)
		require.Equal(t, []string{"NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"}, header, out)
		require.Len(t, rows, 2, out)
		require.Equal(t, map[string]string{
			"NAME": "reader-binding", "ROLE": "Role/reader", "AGE": rows[0]["AGE"],
			"USERS": "alice", "GROUPS": "devs", "SERVICEACCOUNTS": "default/robot",
		}, rows[0], out)
		require.Equal(t, "watch-here", rows[1]["NAME"], out)
		require.Equal(t, "ClusterRole/ns-watcher", rows[1]["ROLE"], out)
		require.Equal(t, "bob", rows[1]["USERS"], out)

		out = framework.Kubectl(t, kc, "get", "rolebinding", "reader-binding", "-n", "default")
		header, _ = kubectlTable(t, out)
		require.Equal(t, []string{"NAME", "ROLE", "AGE"}, header, out)
	})

	t.Run("cluster role bindings", func(t *testing.T) {
		crb, err := a.Kube.RbacV1().ClusterRoleBindings().Get(ctx, "ns-watchers", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "ns-watcher"}, crb.RoleRef)
		require.ElementsMatch(t, []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "carol"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "ops"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "sre"},
			{Kind: rbacv1.ServiceAccountKind, Name: "bot", Namespace: "kube-system"},
		}, crb.Subjects)

		out := framework.Kubectl(t, kc, "get", "clusterrolebinding", "ns-watchers", "-o", "wide")
		header, rows := kubectlTable(t, out)
		require.Equal(t, []string{"NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"}, header, out)
		require.Len(t, rows, 1, out)
		require.Equal(t, "ClusterRole/ns-watcher", rows[0]["ROLE"], out)
		require.Equal(t, "carol", rows[0]["USERS"], out)
		require.Equal(t, "ops, sre", rows[0]["GROUPS"], out)
		require.Equal(t, "kube-system/bot", rows[0]["SERVICEACCOUNTS"], out)
	})

	t.Run("already exists", func(t *testing.T) {
		errOut := framework.KubectlFails(t, kc, "", "create", "clusterrole", "ns-watcher", "--verb=get", "--resource=namespaces")
		require.Contains(t, errOut, `clusterroles.rbac.authorization.k8s.io "ns-watcher" already exists`)
	})
}

// TestRBACRoleRefImmutable checks that the roleRef of a binding cannot change, through
// client-go and kubectl apply, while its subjects can.
func TestRBACRoleRefImmutable(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig
	framework.Kubectl(t, kc, "create", "role", "first", "-n", "default", "--verb=get", "--resource=configmaps")
	framework.Kubectl(t, kc, "create", "role", "second", "-n", "default", "--verb=list", "--resource=configmaps")
	framework.Kubectl(t, kc, "create", "rolebinding", "rb", "-n", "default", "--role=first", "--user=alice")
	framework.Kubectl(t, kc, "create", "clusterrole", "cr-first", "--verb=get", "--resource=namespaces")
	framework.Kubectl(t, kc, "create", "clusterrolebinding", "crb", "--clusterrole=cr-first", "--user=alice")

	rb, err := a.Kube.RbacV1().RoleBindings("default").Get(ctx, "rb", metav1.GetOptions{})
	require.NoError(t, err)
	rb.RoleRef.Name = "second"
	_, err = a.Kube.RbacV1().RoleBindings("default").Update(ctx, rb, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	require.Contains(t, err.Error(), `RoleBinding.rbac.authorization.k8s.io "rb" is invalid`)
	require.Contains(t, err.Error(), "roleRef")
	require.Contains(t, err.Error(), "cannot change roleRef")

	// Changing the kind is rejected too.
	rb, err = a.Kube.RbacV1().RoleBindings("default").Get(ctx, "rb", metav1.GetOptions{})
	require.NoError(t, err)
	rb.RoleRef.Kind = "ClusterRole"
	rb.RoleRef.Name = "cr-first"
	_, err = a.Kube.RbacV1().RoleBindings("default").Update(ctx, rb, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)

	crb, err := a.Kube.RbacV1().ClusterRoleBindings().Get(ctx, "crb", metav1.GetOptions{})
	require.NoError(t, err)
	crb.RoleRef.Name = "other"
	_, err = a.Kube.RbacV1().ClusterRoleBindings().Update(ctx, crb, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	require.Contains(t, err.Error(), "cannot change roleRef")

	// kubectl apply of a manifest with another roleRef fails with the same error.
	manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: rb
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: second
subjects:
- kind: User
  name: alice
`
	errOut := framework.KubectlFails(t, kc, manifest, "apply", "-f", "-")
	require.Contains(t, errOut, "cannot change roleRef")
	errOut = framework.KubectlFails(t, kc, "", "patch", "rolebinding", "rb", "-n", "default", "--type=merge", "-p", `{"roleRef":{"name":"second"}}`)
	require.Contains(t, errOut, `The RoleBinding "rb" is invalid`)
	require.Contains(t, errOut, "cannot change roleRef")

	// The binding is unchanged; its subjects can still change.
	rb, err = a.Kube.RbacV1().RoleBindings("default").Get(ctx, "rb", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "first"}, rb.RoleRef)
	framework.Kubectl(t, kc, "patch", "rolebinding", "rb", "-n", "default", "--type=json",
		"-p", `[{"op":"add","path":"/subjects/-","value":{"kind":"Group","name":"devs"}}]`)
	rb, err = a.Kube.RbacV1().RoleBindings("default").Get(ctx, "rb", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, rb.Subjects, 2)
	require.Equal(t, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"}, rb.Subjects[1])

	// Deleting and recreating is the way to point a binding at another role.
	framework.Kubectl(t, kc, "delete", "rolebinding", "rb", "-n", "default")
	framework.KubectlStdin(t, kc, manifest, "apply", "-f", "-")
	rb, err = a.Kube.RbacV1().RoleBindings("default").Get(ctx, "rb", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "second", rb.RoleRef.Name)
}

// TestRBACValidation checks that invalid roles and bindings are rejected as Invalid, naming the
// field, and that bindings get the defaults of a real cluster.
func TestRBACValidation(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig

	t.Run("invalid rules", func(t *testing.T) {
		tests := []struct {
			name     string
			manifest string
			want     string
		}{{
			name: "role without verbs",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: no-verbs, namespace: default}
rules:
- apiGroups: [""]
  resources: [configmaps]
`,
			want: "rules[0].verbs: Required value",
		}, {
			name: "cluster role without verbs",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: no-verbs}
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: []
`,
			want: "rules[0].verbs: Required value",
		}, {
			name: "role with non-resource URLs",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: urls, namespace: default}
rules:
- nonResourceURLs: [/healthz]
  verbs: [get]
`,
			want: "rules[0].nonResourceURLs: Invalid value",
		}, {
			name: "rule without resources",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: no-resources, namespace: default}
rules:
- apiGroups: [""]
  verbs: [get]
`,
			want: "rules[0].resources: Required value",
		}}
		for _, tc := range tests {
			errOut := framework.KubectlFails(t, kc, tc.manifest, "create", "-f", "-")
			require.Contains(t, errOut, "is invalid", tc.name)
			require.Contains(t, errOut, tc.want, tc.name)
		}
		_, err := a.Kube.RbacV1().Roles("default").Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "no-verbs"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}}},
		}, metav1.CreateOptions{})
		require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
		_, err = a.Kube.RbacV1().Roles("default").Get(ctx, "no-verbs", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "an invalid role was stored: %v", err)

		// An update that removes the verbs is rejected too.
		framework.Kubectl(t, kc, "create", "role", "valid", "-n", "default", "--verb=get", "--resource=configmaps")
		errOut := framework.KubectlFails(t, kc, "", "patch", "role", "valid", "-n", "default", "--type=json", "-p", `[{"op":"remove","path":"/rules/0/verbs"}]`)
		require.Contains(t, errOut, "rules[0].verbs: Required value")
	})

	t.Run("invalid bindings", func(t *testing.T) {
		tests := []struct {
			name     string
			manifest string
			want     string
		}{{
			name: "role binding to a kind that is no role",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bad-kind, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ConfigMap, name: x}
subjects: [{kind: User, name: alice}]
`,
			want: "roleRef.kind: Unsupported value",
		}, {
			name: "cluster role binding to a role",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bad-kind}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: x}
subjects: [{kind: User, name: alice}]
`,
			want: "roleRef.kind: Unsupported value",
		}, {
			name: "unknown subject kind",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bad-subject, namespace: default}
roleRef: {kind: Role, name: x}
subjects: [{kind: Robot, name: r2d2}]
`,
			want: "subjects[0].kind: Unsupported value",
		}, {
			name: "cluster role binding of a service account without namespace",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sa-no-ns}
roleRef: {kind: ClusterRole, name: x}
subjects: [{kind: ServiceAccount, name: robot}]
`,
			want: "subjects[0].namespace: Required value",
		}}
		for _, tc := range tests {
			errOut := framework.KubectlFails(t, kc, tc.manifest, "create", "-f", "-")
			require.Contains(t, errOut, "is invalid", tc.name)
			require.Contains(t, errOut, tc.want, tc.name)
		}
	})

	t.Run("defaults", func(t *testing.T) {
		// Neither roleRef nor the subjects name an apiGroup; a real cluster defaults them.
		manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: defaulted, namespace: default}
roleRef: {kind: ClusterRole, name: view}
subjects:
- {kind: User, name: alice}
- {kind: Group, name: devs}
- {kind: ServiceAccount, name: robot}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: defaulted}
roleRef: {kind: ClusterRole, name: view}
subjects:
- {kind: User, name: bob}
- {kind: Group, name: ops}
- {kind: ServiceAccount, name: robot, namespace: default}
`
		out := framework.KubectlStdin(t, kc, manifest, "apply", "-f", "-")
		require.Contains(t, out, "rolebinding.rbac.authorization.k8s.io/defaulted created")
		require.Contains(t, out, "clusterrolebinding.rbac.authorization.k8s.io/defaulted created")

		rb, err := a.Kube.RbacV1().RoleBindings("default").Get(ctx, "defaulted", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, rbacv1.GroupName, rb.RoleRef.APIGroup)
		require.Equal(t, []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"},
			{Kind: rbacv1.ServiceAccountKind, Name: "robot"},
		}, rb.Subjects)

		crb, err := a.Kube.RbacV1().ClusterRoleBindings().Get(ctx, "defaulted", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, rbacv1.GroupName, crb.RoleRef.APIGroup)
		require.Equal(t, []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "ops"},
			{Kind: rbacv1.ServiceAccountKind, Name: "robot", Namespace: "default"},
		}, crb.Subjects)

		// Applying the same manifest again changes nothing: the defaults are not a roleRef change.
		framework.KubectlStdin(t, kc, manifest, "apply", "-f", "-")
		again, err := a.Kube.RbacV1().RoleBindings("default").Get(ctx, "defaulted", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, rb.ResourceVersion, again.ResourceVersion, "a no-op apply wrote the binding")
		// Server-side apply defaults the same way, and a second apply is no roleRef change either.
		ssaManifest := strings.ReplaceAll(manifest, "name: defaulted", "name: ssa-defaulted")
		for range 2 {
			out = framework.KubectlStdin(t, kc, ssaManifest, "apply", "--server-side", "-f", "-")
			require.Contains(t, out, "rolebinding.rbac.authorization.k8s.io/ssa-defaulted serverside-applied")
		}
		ssa, err := a.Kube.RbacV1().RoleBindings("default").Get(ctx, "ssa-defaulted", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, rb.RoleRef, ssa.RoleRef)
		require.Equal(t, rb.Subjects, ssa.Subjects)

		// A client-go update without the apiGroups is defaulted the same way.
		rb, err = a.Kube.RbacV1().RoleBindings("default").Get(ctx, "defaulted", metav1.GetOptions{})
		require.NoError(t, err)
		rb.RoleRef.APIGroup = ""
		rb.Subjects[0].APIGroup = ""
		rb, err = a.Kube.RbacV1().RoleBindings("default").Update(ctx, rb, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Equal(t, rbacv1.GroupName, rb.RoleRef.APIGroup)
		require.Equal(t, rbacv1.GroupName, rb.Subjects[0].APIGroup)
	})
}

// TestRBACIsolation checks that roles and bindings, cluster-scoped ones included, of one
// account are invisible in another, also under the same names.
func TestRBACIsolation(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	ctx := t.Context()

	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrole", "a-only", "--verb=get", "--resource=configmaps")
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrolebinding", "a-only", "--clusterrole=a-only", "--user=alice")
	framework.Kubectl(t, a.Kubeconfig, "create", "role", "a-only", "-n", "default", "--verb=get", "--resource=configmaps")
	framework.Kubectl(t, a.Kubeconfig, "create", "rolebinding", "a-only", "-n", "default", "--role=a-only", "--user=alice")
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrole", "shared", "--verb=get", "--resource=configmaps")
	framework.Kubectl(t, b.Kubeconfig, "create", "clusterrole", "shared", "--verb=delete", "--resource=secrets")

	for _, args := range [][]string{
		{"get", "clusterrole", "a-only"},
		{"get", "clusterrolebinding", "a-only"},
		{"get", "role", "a-only", "-n", "default"},
		{"get", "rolebinding", "a-only", "-n", "default"},
	} {
		errOut := framework.KubectlFails(t, b.Kubeconfig, "", args...)
		require.Contains(t, errOut, "(NotFound)", "%v in %s", args, b.Path)
	}
	for _, resource := range []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"} {
		out := framework.Kubectl(t, b.Kubeconfig, "get", resource, "-A", "-o", "name")
		require.NotContains(t, out, "a-only", "%s of %s visible in %s", resource, a.Path, b.Path)
		out = framework.Kubectl(t, a.Kubeconfig, "get", resource, "-A", "-o", "name")
		require.Contains(t, out, "a-only", resource)
	}

	// Each account's cluster role of the same name has its own rules.
	crA, err := a.Kube.RbacV1().ClusterRoles().Get(ctx, "shared", metav1.GetOptions{})
	require.NoError(t, err)
	crB, err := b.Kube.RbacV1().ClusterRoles().Get(ctx, "shared", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"get"}, crA.Rules[0].Verbs)
	require.Equal(t, []string{"delete"}, crB.Rules[0].Verbs)
	require.NotEqual(t, crA.UID, crB.UID)

	// Deleting in b leaves a's.
	framework.Kubectl(t, b.Kubeconfig, "delete", "clusterrole", "shared")
	_, err = a.Kube.RbacV1().ClusterRoles().Get(ctx, "shared", metav1.GetOptions{})
	require.NoError(t, err)
	errOut := framework.KubectlFails(t, b.Kubeconfig, "", "delete", "clusterrole", "a-only")
	require.Contains(t, errOut, "(NotFound)")
	_, err = a.Kube.RbacV1().ClusterRoles().Get(ctx, "a-only", metav1.GetOptions{})
	require.NoError(t, err)
}
