package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// fillAccount creates content of every kind in an account, in default and in a namespace of
// its own.
func fillAccount(t *testing.T, acc *framework.Account) {
	t.Helper()
	ctx := t.Context()
	kube := acc.Kube
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, ns := range []string{"default", "team"} {
		_, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, configMap("cfg", nil, nil), metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = kube.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = kube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "e"},
			InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Name: "cfg", Namespace: ns},
			Reason:         "Test", Message: "hello",
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "cr"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "crb"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cr"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// keysOf returns the etcd keys that belong to any of the cluster IDs.
func keysOf(ctx context.Context, t *testing.T, ids ...string) []string {
	t.Helper()
	resp, err := etcdClient.Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var out []string
	for _, kv := range resp.Kvs {
		for _, id := range ids {
			if strings.Contains(string(kv.Key), "/"+id+"/") {
				out = append(out, string(kv.Key))
			}
		}
	}
	return out
}

// TestDeleteAccountTree deletes an account with nested children and content and checks that the
// whole subtree disappears, bottom-up, and that nothing is left in etcd under its cluster IDs.
func TestDeleteAccountTree(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	top := server.NewAccount(t, "root")
	mid := server.CreateAccount(t, top.Path, "mid")
	leaf := server.CreateAccount(t, mid.Path, "leaf")
	sibling := server.NewAccount(t, "root")
	for _, acc := range []*framework.Account{top, mid, leaf, sibling} {
		fillAccount(t, acc)
	}
	ids := []string{top.ClusterID, mid.ClusterID, leaf.ClusterID}
	require.NotEmpty(t, keysOf(ctx, t, ids...))

	framework.Kubectl(t, server.Kubeconfig, "delete", "account", top.Name, "--wait=false")
	// Deletion is fast: the account is Terminating or already gone.
	phase, errOut, err := framework.KubectlResult(t, server.Kubeconfig, "", "get", "account", top.Name, "-o", "jsonpath={.status.phase}")
	if err == nil {
		require.Equal(t, "Terminating", phase)
	} else {
		require.Contains(t, errOut, "NotFound")
	}

	root := server.ConfigFor("root")
	rootClient, err := framework.DynamicFor(root)
	require.NoError(t, err)
	framework.Eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := rootClient.Resource(framework.AccountsGVR).Get(ctx, top.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "account %s was not deleted", top.Path)

	require.Empty(t, keysOf(ctx, t, ids...), "keys left behind in etcd")
	for _, acc := range []*framework.Account{top, mid, leaf} {
		requireUnresolvable(t, acc.Config, acc.Path)
	}
	// The sibling is untouched.
	list, err := sibling.Kube.CoreV1().ConfigMaps("team").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name!=" + framework.RootCAConfigMap})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	require.NotEmpty(t, keysOf(ctx, t, sibling.ClusterID))
}
