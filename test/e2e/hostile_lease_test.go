package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// The Lease whose holder runs the controllers (pkg/server/leader.go).
const (
	controllersLeaseNamespace = "accountmesh-system"
	controllersLeaseName      = "accountmesh-controllers"
)

// TestHostileControllersLease (R25): the admin of an account cannot read, take, renew or
// delete the Lease whose holder runs the platform's controllers (in the root account), and a
// Lease of the same name in an account changes nothing of it.
func TestHostileControllersLease(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	user := "lease-thief-" + acc.Name
	grantRole(t, acc, "admin", "--user="+user, false)
	admin, err := kubernetes.NewForConfig(server.ConfigFor("root"))
	require.NoError(t, err)
	leases := admin.CoordinationV1().Leases(controllersLeaseNamespace)
	before, err := leases.Get(ctx, controllersLeaseName, metav1.GetOptions{})
	require.NoError(t, err)

	thief, err := kubernetes.NewForConfig(userConfig(t, "root", user))
	require.NoError(t, err)
	rootLeases := thief.CoordinationV1().Leases(controllersLeaseNamespace)
	stolen := before.DeepCopy()
	stolen.Spec.HolderIdentity = &user
	for name, attack := range map[string]func() error{
		"get":    func() error { _, err := rootLeases.Get(ctx, controllersLeaseName, metav1.GetOptions{}); return err },
		"update": func() error { _, err := rootLeases.Update(ctx, stolen, metav1.UpdateOptions{}); return err },
		"patch": func() error {
			_, err := rootLeases.Patch(ctx, controllersLeaseName, types.MergePatchType, []byte(`{"spec":{"holderIdentity":"`+user+`"}}`), metav1.PatchOptions{})
			return err
		},
		"delete": func() error { return rootLeases.Delete(ctx, controllersLeaseName, metav1.DeleteOptions{}) },
		"create": func() error {
			_, err := rootLeases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
			return err
		},
	} {
		require.True(t, apierrors.IsForbidden(attack()), "%s of the controllers' lease in root was not forbidden", name)
	}
	// An account may have a Lease of that name: it is the account's only.
	own := acc.Kube
	_, err = own.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllersLeaseNamespace}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = own.CoordinationV1().Leases(controllersLeaseNamespace).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: controllersLeaseName}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &user},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	after, err := leases.Get(ctx, controllersLeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, *before.Spec.HolderIdentity, *after.Spec.HolderIdentity, "the controllers' lease changed hands")
}
