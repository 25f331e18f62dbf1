package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// unthrottledKube returns a client of cfg without client-go's default limit of 5 requests/s,
// which would otherwise be all a benchmark measures.
func unthrottledKube(tb testing.TB, cfg *rest.Config) kubernetes.Interface {
	tb.Helper()
	k, err := kubernetes.NewForConfig(unthrottled(cfg))
	require.NoError(tb, err)
	return k
}

// BenchmarkAuthorizedGet measures a client-go GET of a ConfigMap in the leaf of a 10-account
// chain, as system:masters and as a user whose only grant is inherited from the top of the
// chain, with 100 other users' bindings in every account. The ratio of the two is the cost of
// authorization on a real request.
//
//	go test ./test/e2e -run '^$' -bench AuthorizedGet -benchtime 5000x
func BenchmarkAuthorizedGet(b *testing.B) {
	ctx := b.Context()
	const depth, bindings = 10, 100
	unthrottled := func(cfg *rest.Config) kubernetes.Interface { return unthrottledKube(b, cfg) }
	top := server.NewAccount(b, "root")
	path := top.Path
	var leaf *framework.Account
	user := framework.RandomName("bench-")
	accounts := []*framework.Account{top}
	for i := 1; i < depth; i++ {
		leaf = server.CreateAccount(b, path, fmt.Sprintf("l%d", i))
		path = leaf.Path
		accounts = append(accounts, leaf)
	}
	for _, acc := range accounts {
		for j := 0; j < bindings; j++ {
			_, err := unthrottled(acc.Config).RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("other-%d", j), Labels: map[string]string{corev1alpha1.InheritLabel: "true"}},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("other-%d", j)}},
			}, metav1.CreateOptions{})
			require.NoError(b, err)
		}
	}
	_, err := top.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Labels: map[string]string{corev1alpha1.InheritLabel: "true"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{})
	require.NoError(b, err)
	_, err = leaf.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "target"}}, metav1.CreateOptions{})
	require.NoError(b, err)

	for _, bc := range []struct {
		name string
		kube kubernetes.Interface
	}{
		{"system:masters", unthrottled(leaf.Config)},
		{"inherited-grant-10-up", unthrottled(userConfig(b, leaf.Path, user))},
	} {
		cms := bc.kube.CoreV1().ConfigMaps("default")
		framework.Eventually(b, grantTimeout, func(ctx context.Context) (bool, error) {
			_, err := cms.Get(ctx, "target", metav1.GetOptions{})
			return err == nil, nil
		})
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := cms.Get(ctx, "target", metav1.GetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
