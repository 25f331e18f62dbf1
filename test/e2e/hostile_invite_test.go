package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileInvites attacks invites as a tenant: an invite grants nothing its creator could
// not grant, neither when it is made nor when it is accepted, nor anything the creator wrote
// into it; and an organisation's identity provider answers the invites of that organisation
// only.
func TestHostileInvites(t *testing.T) {
	t.Parallel()
	org, provider := orgWithProvider(t)
	acct := server.NewAccount(t, org.Path)
	lapsed := server.NewAccount(t, org.Path)
	elsewhere := server.NewAccount(t, "root")
	email := provider.Emails[0] // verified
	kc := func(a *framework.Account, user string) string { return userKubeconfig(t, a.Path, user) }

	// mallory may create invites in acct, and nothing else of RBAC; ada administers acct only
	// (not inherited); both act with certificates of their own.
	mallory, ada := framework.RandomName("mallory-"), framework.RandomName("ada-")
	kubectlApply(t, acct.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: inviter}
rules:
- {apiGroups: [iam.accountmesh.io], resources: [invites], verbs: [create, get, list, update, patch]}
`)
	grantRole(t, acct, "inviter", "--user="+mallory, false)
	grantRole(t, acct, "admin", "--user="+ada, false)
	whoamiEventually(t, kc(acct, ada))
	invites := func(a *framework.Account) *versioned.Clientset {
		c, err := versioned.NewForConfig(a.Config)
		require.NoError(t, err)
		return c
	}
	none := func(a *framework.Account) {
		t.Helper()
		l, err := invites(a).IamV1alpha1().Invites().List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, l.Items, "a refused invite was stored")
	}

	t.Run("R53 an invite needs the rights of the grant it makes", func(t *testing.T) {
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			_, errOut, err := meshResult(t, kc(acct, mallory), "invite", email, "admin")
			return err != nil && strings.Contains(errOut, "with its creator's rights"), nil
		}, "mallory invited someone to admin without holding it")
		none(acct)
		// ada holds admin here, but not through an inherited grant: no inherited invite.
		errOut := meshFails(t, kc(acct, ada), "invite", email, "admin", "--inherit")
		require.Contains(t, errOut, "inherited")
		none(acct)
		require.Contains(t, mesh(t, kc(acct, ada), "invite", email, "view"), "will hold view in this account")
	})

	t.Run("R53 the server, not the request, says who invited and whether it was accepted", func(t *testing.T) {
		created := framework.KubectlStdin(t, kc(acct, ada), `apiVersion: iam.accountmesh.io/v1alpha1
kind: Invite
metadata: {name: forged}
spec:
  email: `+email+`
  role: edit
  inviter: {username: "system:admin", groups: ["system:masters"]}
status: {phase: Accepted, user: someone}
`, "create", "-f", "-", "-o", "jsonpath={.spec.inviter.username} {.spec.inviter.groups} {.status.phase}")
		require.Contains(t, created, ada+" ")
		require.NotContains(t, created, "system:masters")
		require.True(t, strings.HasSuffix(created, " Pending"), created)
		// The spec cannot be changed after the checks, nor the status written by a tenant.
		errOut := framework.KubectlFails(t, kc(acct, ada), "", "patch", "invite", "forged", "--type=merge", "-p", `{"spec":{"role":"admin"}}`)
		require.Contains(t, errOut, "immutable")
		requireForbidden(t, kc(acct, ada), "patch", "invite", "forged", "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"Accepted","user":"`+ada+`"}}`)
	})

	// A ServiceAccount administers lapsed and invites there; it loses admin before the user
	// signs in. Another organisation holds an invite for the same address.
	framework.Kubectl(t, lapsed.Kubeconfig, "create", "serviceaccount", "bot")
	framework.Kubectl(t, lapsed.Kubeconfig, "create", "clusterrolebinding", "bot-admin", "--clusterrole=admin", "--serviceaccount=default:bot")
	bot := server.WriteTokenKubeconfig(t, lapsed.Path, strings.TrimSpace(framework.Kubectl(t, lapsed.Kubeconfig, "create", "token", "bot")))
	whoamiEventually(t, bot)
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		_, _, err := meshResult(t, bot, "invite", email, "edit")
		return err == nil, nil
	}, "the ServiceAccount could not invite")
	framework.Kubectl(t, lapsed.Kubeconfig, "delete", "clusterrolebinding", "bot-admin")
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		// Without admin, the ServiceAccount may not even ask.
		out, errOut, _ := framework.KubectlResult(t, bot, "", "auth", "can-i", "create", "clusterrolebindings")
		return strings.TrimSpace(out) == "no" || strings.Contains(errOut, "Forbidden"), nil
	}, "the ServiceAccount kept admin")
	framework.KubectlStdin(t, elsewhere.Kubeconfig, `apiVersion: iam.accountmesh.io/v1alpha1
kind: Invite
metadata: {name: foreign}
spec: {email: `+email+`, role: admin}
`, "create", "-f", "-")

	b := newConsoleBrowser(t)
	r := oidcConsoleSignIn(t, b, provider, "org:corp", org.Path, provider.Users[0])
	require.Equal(t, "/console/#/", r.header.Get("Location"))

	t.Run("R53 an invite whose creator lost the right grants nothing", func(t *testing.T) {
		l, err := invites(lapsed).IamV1alpha1().Invites().List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, l.Items, 1)
		require.Equal(t, iamv1alpha1.InviteFailed, l.Items[0].Status.Phase)
		require.Contains(t, l.Items[0].Status.Message, "may no longer grant edit")
		kube, err := kubernetes.NewForConfig(lapsed.Config)
		require.NoError(t, err)
		_, err = kube.RbacV1().ClusterRoleBindings().Get(t.Context(), iamv1alpha1.GrantBindingName("edit", false), metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "the invite granted: %v", err)
	})

	t.Run("R54 an organisation's provider answers only its organisation's invites", func(t *testing.T) {
		inv, err := invites(elsewhere).IamV1alpha1().Invites().Get(t.Context(), "foreign", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, iamv1alpha1.InvitePending, inv.Status.Phase, "another organisation's provider accepted the invite")
		kube, err := kubernetes.NewForConfig(elsewhere.Config)
		require.NoError(t, err)
		_, err = kube.RbacV1().ClusterRoleBindings().Get(t.Context(), iamv1alpha1.GrantBindingName("admin", false), metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "the invite granted: %v", err)
		// The invite ada made in acct, in the provider's organisation, was accepted: the
		// sign-in did reach the invites.
		inv, err = invites(acct).IamV1alpha1().Invites().Get(t.Context(), "forged", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, iamv1alpha1.InviteAccepted, inv.Status.Phase, inv.Status.Message)
	})
}
