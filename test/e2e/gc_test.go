package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// ownedConfigMaps creates an owner ConfigMap and n dependents owned by it in an account.
func ownedConfigMaps(t *testing.T, acc *framework.Account, owner string, n int) *corev1.ConfigMap {
	t.Helper()
	ctx := t.Context()
	cms := acc.Kube.CoreV1().ConfigMaps("default")
	o, err := cms.Create(ctx, configMap(owner, nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)
	for i := range n {
		dep := configMap(owner+"-dep-"+string(rune('a'+i)), nil, nil)
		dep.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "ConfigMap", Name: o.Name, UID: o.UID, BlockOwnerDeletion: ptrTo(true),
		}}
		_, err := cms.Create(ctx, dep, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	return o
}

func gone(ctx context.Context, acc *framework.Account, name string) bool {
	_, err := acc.Kube.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// TestGarbageCollection checks background, foreground and orphan deletion of owners with
// kubectl, within one account, with same-named objects in another account left alone.
func TestGarbageCollection(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	for _, acc := range []*framework.Account{a, b} {
		for _, owner := range []string{"bg", "fg", "or"} {
			ownedConfigMaps(t, acc, owner, 2)
		}
	}

	t.Run("background", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "configmap", "bg", "-n", "default", "--cascade=background")
		framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
			return gone(ctx, a, "bg-dep-a") && gone(ctx, a, "bg-dep-b"), nil
		}, "dependents were not collected")
	})
	t.Run("foreground", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "configmap", "fg", "-n", "default", "--cascade=foreground", "--timeout=60s")
		require.True(t, gone(t.Context(), a, "fg"))
		// With foreground deletion the owner goes only after its blocking dependents.
		require.True(t, gone(t.Context(), a, "fg-dep-a"))
		require.True(t, gone(t.Context(), a, "fg-dep-b"))
	})
	t.Run("orphan", func(t *testing.T) {
		framework.Kubectl(t, a.Kubeconfig, "delete", "configmap", "or", "-n", "default", "--cascade=orphan", "--timeout=60s")
		framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
			dep, err := a.Kube.CoreV1().ConfigMaps("default").Get(ctx, "or-dep-a", metav1.GetOptions{})
			return err == nil && len(dep.OwnerReferences) == 0 && gone(ctx, a, "or"), nil
		}, "dependents were not orphaned")
		require.False(t, gone(t.Context(), a, "or-dep-b"))
	})
	t.Run("other account untouched", func(t *testing.T) {
		for _, name := range []string{"bg", "bg-dep-a", "fg", "fg-dep-b", "or", "or-dep-a"} {
			require.False(t, gone(t.Context(), b, name), "%s was deleted in %s", name, b.Path)
		}
	})
}

// TestGarbageCollectionIgnoresOtherAccountsOwners creates a dependent whose ownerReference
// carries the UID of an owner in another account: in its own account that owner does not
// exist, so the dependent is collected, and the foreign owner is never touched.
func TestGarbageCollectionIgnoresOtherAccountsOwners(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	owner, err := b.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("owner", nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)
	dep := configMap("dep", nil, nil)
	dep.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
	_, err = a.Kube.CoreV1().ConfigMaps("default").Create(ctx, dep, metav1.CreateOptions{})
	require.NoError(t, err)

	framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		return gone(ctx, a, "dep"), nil
	}, "a dependent of a foreign owner was kept alive by another account's object")
	require.False(t, gone(ctx, b, "owner"))
}
