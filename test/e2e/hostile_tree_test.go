package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileAccessibleAccountTree probes the tree fields and selectors of accessibleaccounts
// as eve, who may view one account deep in an organisation and nothing around it: what she
// gets tells her nothing of the accounts she cannot access, whatever she selects, searches or
// puts in a continue token.
func TestHostileAccessibleAccountTree(t *testing.T) {
	t.Parallel()
	org := server.NewAccount(t, "root")
	hidden := server.NewAccount(t, org.Path)
	team := server.NewAccount(t, hidden.Path)
	secret := server.NewAccount(t, hidden.Path)
	below := server.NewAccount(t, team.Path)
	eve := framework.RandomName("eve-")
	grantRole(t, team, "view", "--user="+eve, false)
	c, err := versioned.NewForConfig(userConfig(t, "root", eve))
	require.NoError(t, err)
	accessible := c.AuthorizationV1alpha1().AccessibleAccounts()
	list := func(opts metav1.ListOptions) []authorizationv1alpha1.AccessibleAccount {
		t.Helper()
		l, err := accessible.List(t.Context(), opts)
		require.NoError(t, err, opts.FieldSelector)
		return l.Items
	}
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		return len(list(metav1.ListOptions{})) == 1, nil
	}, "eve's grant in team")

	t.Run("R52 the tree fields name nothing she cannot access", func(t *testing.T) {
		items := list(metav1.ListOptions{})
		require.Len(t, items, 1)
		require.Equal(t, authorizationv1alpha1.AccessibleAccountSpec{Path: team.Path, ClusterID: team.ClusterID, Type: "account"}, items[0].Spec,
			"no parent: the organisation and hidden are not hers")
		require.Equal(t, authorizationv1alpha1.AccessibleAccountStatus{Phase: "Ready"}, items[0].Status,
			"the account below team, not hers, is not counted")
	})

	t.Run("R52 selectors and search find nothing she cannot access", func(t *testing.T) {
		for _, sel := range []string{
			"spec.parent=" + hidden.Path, "spec.parent=" + org.Path, "spec.parent=" + team.Path,
			"spec.path=" + secret.Path, "metadata.name=" + hidden.Path, "spec.path=" + below.Path,
			"search=" + secret.Name, "search=" + below.Name, "spec.type=org", "status.phase=Initializing",
		} {
			require.Empty(t, list(metav1.ListOptions{FieldSelector: sel}), sel)
		}
		// The same search matches her own account: the search is real, the hidden ones are
		// not in it.
		require.Len(t, list(metav1.ListOptions{FieldSelector: "search=" + strings.ToUpper(team.Name)}), 1)
		require.Len(t, list(metav1.ListOptions{FieldSelector: "search=" + hidden.Name}), 1, "team's path contains hidden's name")
	})

	t.Run("R52 get answers alike for a hidden account and none", func(t *testing.T) {
		_, err := accessible.Get(t.Context(), secret.Path, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%v", err)
		_, none := accessible.Get(t.Context(), hidden.Path+":no-such", metav1.GetOptions{})
		require.Equal(t, strings.ReplaceAll(none.Error(), hidden.Path+":no-such", "X"), strings.ReplaceAll(err.Error(), secret.Path, "X"))
	})

	t.Run("R52 a forged continue token pages her own list only", func(t *testing.T) {
		for _, after := range []string{"root", org.Path, hidden.Path, secret.Path, "a"} {
			token := base64.RawURLEncoding.EncodeToString([]byte(`{"after":"` + after + `"}`))
			for _, a := range list(metav1.ListOptions{Continue: token, Limit: 10}) {
				require.Equal(t, team.Path, a.Name, "after %s", after)
			}
		}
		for _, token := range []string{"x", base64.RawURLEncoding.EncodeToString([]byte(`{"after":""}`)), base64.RawURLEncoding.EncodeToString([]byte(`[]`))} {
			_, err := accessible.List(t.Context(), metav1.ListOptions{Continue: token})
			require.True(t, apierrors.IsBadRequest(err), "%s: %v", token, err)
		}
	})
}
