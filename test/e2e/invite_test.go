package e2e

import (
	"context"
	"net/http"
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

// TestInvites invites people by email with the real kubectl plugin and lets them sign in to
// the console through their organisation's identity provider (a real OIDC provider started by
// the test): the user whose verified address was invited holds the role (inherited below, as
// asked) and sees the account, and the invite is Accepted with the user's name; a user of the
// platform's issuer accepts one too, signing in to root; an invite for an unverified address,
// a revoked (deleted) one and an expired one grant nothing.
func TestInvites(t *testing.T) {
	t.Parallel()
	org, provider := orgWithProvider(t)
	team := server.NewAccount(t, org.Path)
	project := server.NewAccount(t, team.Path)
	revoked := server.NewAccount(t, org.Path)
	expiring := server.NewAccount(t, org.Path)
	verified, unverified := provider.Emails[0], provider.Emails[1]
	orgUser := org.Path + ":" + provider.Users[0]

	// alice administers the organisation and invites as herself.
	grantRole(t, org, "admin", "--user=alice", true)
	asAlice := func(path string) string { return server.WriteTokenKubeconfig(t, path, aliceToken) }
	whoamiEventually(t, asAlice(team.Path))

	out := mesh(t, asAlice(team.Path), "invite", strings.ToUpper(verified), "edit", "--inherit")
	require.Contains(t, out, verified+" will hold edit in this account and below")
	accepted := inviteName(t, out)
	pendingOut := mesh(t, asAlice(team.Path), "invite", unverified, "view")
	pending := inviteName(t, pendingOut)
	gone := inviteName(t, mesh(t, asAlice(revoked.Path), "invite", verified, "admin"))
	framework.Kubectl(t, asAlice(revoked.Path), "delete", "invite", gone)
	expired := inviteName(t, mesh(t, asAlice(expiring.Path), "invite", verified, "view", "--expires", "2s"))

	table := framework.Kubectl(t, asAlice(team.Path), "get", "invites")
	require.Contains(t, table, "EMAIL")
	require.Contains(t, table, "PHASE")
	require.Regexp(t, accepted+`\s+`+verified+`\s+edit\s+true\s+Pending`, table)

	invites := func(a *framework.Account) *versioned.Clientset {
		c, err := versioned.NewForConfig(a.Config)
		require.NoError(t, err)
		return c
	}
	inv, err := invites(team).IamV1alpha1().Invites().Get(t.Context(), accepted, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "alice", inv.Spec.Inviter.Username, "the server records who invited")
	require.True(t, inv.Spec.ExpiresAt.After(time.Now().Add(6*24*time.Hour)), "seven days by default")
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		inv, err := invites(expiring).IamV1alpha1().Invites().Get(ctx, expired, metav1.GetOptions{})
		return err == nil && inv.Status.Phase == iamv1alpha1.InviteExpired, err
	}, "the invite did not expire")

	b := newConsoleBrowser(t)
	r := oidcConsoleSignIn(t, b, provider, "org:corp", org.Path, provider.Users[0])
	require.Equal(t, "/console/#/", r.header.Get("Location"), "the invited user signs in")
	require.NotNil(t, r.session)
	session := r.session.Value
	csrf := csrfOf(t, b, session)

	inv, err = invites(team).IamV1alpha1().Invites().Get(t.Context(), accepted, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, iamv1alpha1.InviteAccepted, inv.Status.Phase, inv.Status.Message)
	require.Equal(t, orgUser, inv.Status.User)
	require.NotNil(t, inv.Status.AcceptedAt)
	require.Regexp(t, accepted+`\s+`+verified+`\s+edit\s+true\s+Accepted\s+`+orgUser, framework.Kubectl(t, asAlice(team.Path), "get", "invites"))

	// The user sees the account and works in it, and below it.
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		got := b.do(t, http.MethodGet, consoleAPI(org.Path, "/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts"), session, writeHeaders(csrf), "")
		return got.code == http.StatusOK && strings.Contains(got.body, `"path":"`+project.Path+`"`), nil
	}, "the invited user does not see the account")
	created := b.do(t, http.MethodPost, consoleAPI(project.Path, "/api/v1/namespaces/default/configmaps"), session, writeHeaders(csrf), cmJSON("from-invitee"))
	require.Equal(t, http.StatusCreated, created.code, created.body)

	// Nothing came of the unverified, revoked and expired invites.
	inv, err = invites(team).IamV1alpha1().Invites().Get(t.Context(), pending, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, iamv1alpha1.InvitePending, inv.Status.Phase)
	for _, a := range []*framework.Account{revoked, expiring} {
		got := b.do(t, http.MethodGet, consoleAPI(a.Path, "/api/v1/namespaces/default/configmaps"), session, writeHeaders(csrf), "")
		require.Equal(t, http.StatusForbidden, got.code, "%s: %s", a.Path, got.body)
	}
	kube, err := kubernetes.NewForConfig(revoked.Config)
	require.NoError(t, err)
	_, err = kube.RbacV1().ClusterRoleBindings().Get(t.Context(), iamv1alpha1.GrantBindingName("admin", false), metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "a revoked invite made a grant: %v", err)
	inv, err = invites(expiring).IamV1alpha1().Invites().Get(t.Context(), expired, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, iamv1alpha1.InviteExpired, inv.Status.Phase)

	// The platform issuer's users accept invites in any account: one signs in to root.
	platformInvite := inviteName(t, mesh(t, asAlice(team.Path), "invite", platformOIDC.Emails[0], "view"))
	r = oidcConsoleSignIn(t, newConsoleBrowser(t), platformOIDC, "platform", "root", platformOIDC.Users[0])
	require.Equal(t, "/console/#/", r.header.Get("Location"))
	inv, err = invites(team).IamV1alpha1().Invites().Get(t.Context(), platformInvite, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, iamv1alpha1.InviteAccepted, inv.Status.Phase, inv.Status.Message)
	require.Equal(t, "platform:"+platformOIDC.Users[0], inv.Status.User)

	// The user with the unverified address signs in to their organisation, but the invite
	// gives them nothing: they can access no account.
	other := newConsoleBrowser(t)
	r = oidcConsoleSignIn(t, other, provider, "org:corp", org.Path, provider.Users[1])
	require.Equal(t, "/console/#/", r.header.Get("Location"))
	got := other.do(t, http.MethodGet, consoleAPI(org.Path, "/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts"),
		r.session.Value, writeHeaders(csrfOf(t, other, r.session.Value)), "")
	require.Equal(t, http.StatusOK, got.code, got.body)
	require.NotContains(t, got.body, `"path"`, "an unverified address was granted something")
	inv, err = invites(team).IamV1alpha1().Invites().Get(t.Context(), pending, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, iamv1alpha1.InvitePending, inv.Status.Phase)
}

// orgWithProvider returns a new organisation with an identity provider "corp": a real OIDC
// provider of its own, Ready.
func orgWithProvider(t *testing.T) (*framework.Account, *framework.OIDCProvider) {
	t.Helper()
	org := server.NewAccount(t, "root")
	provider, err := framework.StartOIDCProvider(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(provider.Close)
	framework.KubectlStdin(t, org.Kubeconfig, identityProvider("corp", provider.Issuer, provider.CAPEM), "apply", "-f", "-")
	framework.Kubectl(t, org.Kubeconfig, "wait", "identityprovider/corp", "--for=condition=Ready", "--timeout=60s")
	return org, provider
}

// oidcConsoleSignIn signs user in to the console through p, offered as providerID for
// account, with a raw browser, and returns the console's answer to the issuer's redirect.
func oidcConsoleSignIn(t *testing.T, b *consoleBrowser, p *framework.OIDCProvider, providerID, account, user string) consoleResponse {
	t.Helper()
	l := startConsoleLogin(t, b, providerID, account, "")
	return finishConsoleLogin(t, b, issuerLogin(t, p, l.authURL, user), l.cookie)
}

// inviteName returns the name of the invite kubectl mesh invite printed.
func inviteName(t *testing.T, out string) string {
	t.Helper()
	name, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(out), "invite/"), ":")
	require.True(t, ok && strings.HasPrefix(out, "invite/"), "kubectl mesh invite printed %q", out)
	return name
}
