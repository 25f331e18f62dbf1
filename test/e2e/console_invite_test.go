package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestConsoleInvites invites someone from the members page in a real headless Chromium: alice,
// who administers an organisation, invites an email address to edit a team and below; the
// invite shows Pending; the person with that verified address signs in through the
// organisation's identity provider (a real OIDC provider, its login form filled in by a second
// browser) and sees the team in the tree; alice's page shows the invite Accepted by that user,
// live. A second invite is revoked from the page and is gone.
func TestConsoleInvites(t *testing.T) {
	t.Parallel()
	org, provider := orgWithProvider(t)
	team := server.NewAccount(t, org.Path)
	grantRole(t, org, "admin", "--user=alice", true)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, team.Path, aliceToken))
	invitee := org.Path + ":" + provider.Users[0]
	row := func(email string) string { return fmt.Sprintf(`#invites li[data-email=%q]`, email) }

	b := signInBrowser(t, team.Path)
	b.do(t, "invite from the members page",
		chromedp.Navigate(server.BaseURL+"/console/#/members/"+url.PathEscape(team.Path)),
		chromedp.WaitVisible(chromedp.ID("invites-status")),
		chromedp.SendKeys(chromedp.ID("invite-email"), provider.Emails[0]),
		chromedp.SetValue(chromedp.ID("invite-role"), "edit"),
		chromedp.Click(chromedp.ID("invite-below")),
		chromedp.Click(chromedp.ID("invite")),
		chromedp.WaitVisible(chromedp.CSS(row(provider.Emails[0])+`[data-phase="Pending"] .below`)),
		chromedp.SendKeys(chromedp.ID("invite-email"), provider.Emails[1]),
		chromedp.Click(chromedp.ID("invite")),
		chromedp.WaitVisible(chromedp.CSS(row(provider.Emails[1])+`[data-phase="Pending"]`)),
		chromedp.Click(chromedp.CSS(row(provider.Emails[1])+` button.revoke-invite`)),
		chromedp.WaitNotPresent(chromedp.CSS(row(provider.Emails[1]))),
	)
	require.Empty(t, framework.Kubectl(t, team.Kubeconfig, "get", "invites", "--field-selector", "spec.email="+provider.Emails[1], "-o", "name"))

	// An address the browser lets through but the server does not take is refused with the
	// server's message, and nothing is added.
	b.do(t, "a bad address",
		chromedp.SetValue(chromedp.ID("invite-email"), ".bob@example.com"),
		chromedp.Click(chromedp.ID("invite")),
		chromedp.WaitVisible(chromedp.CSS(`#invite-error:not(:empty)`)),
	)
	require.Contains(t, evalIn[string](t, b, `document.getElementById('invite-error').textContent`), "plain email address")

	other := newBrowser(t)
	corp := chromedp.CSS(`#oidc-providers button[data-provider="org:corp"]`)
	other.do(t, "the invitee signs in with the organisation's identity provider",
		chromedp.Navigate(server.BaseURL+"/console/#/org/"+url.PathEscape(org.Path)),
		chromedp.WaitVisible(corp),
		chromedp.Click(corp),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SetValue(chromedp.ID("username"), provider.Users[0]),
		chromedp.SetValue(chromedp.ID("password"), framework.OIDCPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q]`, team.Path))),
	)
	require.Equal(t, invitee, evalIn[string](t, other, `document.getElementById('user').textContent`))

	b.do(t, "the invite is accepted, live",
		chromedp.WaitVisible(chromedp.CSS(row(provider.Emails[0])+`[data-phase="Accepted"]`)))
	require.Contains(t, evalIn[string](t, b, `document.querySelector('`+row(provider.Emails[0])+`').textContent`), "by "+invitee)
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "invites.png"), png, 0o644))
	}
}
