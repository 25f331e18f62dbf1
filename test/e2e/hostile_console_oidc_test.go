package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileConsoleOIDC attacks the console's OIDC sign-in and its kubeconfigs (R49, R50 of
// docs/security.md): forged, replayed and other browsers' states (login CSRF), a code injected
// into another sign-in, ID tokens of another audience or of another organisation's identity
// provider, what the sign-in page tells about organisations, and kubeconfigs as a way to get
// the console's or another user's credentials.
func TestHostileConsoleOIDC(t *testing.T) {
	t.Parallel()
	mine := server.NewAccount(t, "root")
	user := platformOIDC.Users[0]
	grantRole(t, mine, "view", "--user=platform:"+user, true)
	grantRole(t, mine, "view", "--user=alice", false)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, mine.Path, aliceToken))
	b := newConsoleBrowser(t)
	stateError := "/console/#signin-error=state"

	t.Run("R49 state and code", func(t *testing.T) {
		// A complete sign-in works: the harness can tell success from refusal.
		good := startConsoleLogin(t, b, "platform", mine.Path, "")
		back := issuerLogin(t, platformOIDC, good.authURL, user)
		r := finishConsoleLogin(t, b, back, good.cookie)
		require.Equal(t, http.StatusSeeOther, r.code)
		require.Equal(t, "/console/#/", r.header.Get("Location"))
		require.NotNil(t, r.session)
		info := b.do(t, http.MethodGet, "/console/session", r.session.Value, nil, "")
		require.Equal(t, http.StatusOK, info.code)
		require.Contains(t, info.body, `"user":"platform:`+user+`"`)

		// Replaying the issuer's redirect, even in the same browser, starts no session.
		r = finishConsoleLogin(t, b, back, good.cookie)
		require.Equal(t, stateError, r.header.Get("Location"))
		require.Nil(t, r.session)

		// Login CSRF: the attacker's own completed redirect, opened in the victim's browser
		// (with its own sign-in cookie, or none), is refused.
		attacker := startConsoleLogin(t, b, "platform", mine.Path, "")
		attackerBack := issuerLogin(t, platformOIDC, attacker.authURL, user)
		victim := startConsoleLogin(t, b, "platform", mine.Path, "")
		for _, binding := range []string{victim.cookie, ""} {
			r = finishConsoleLogin(t, b, attackerBack, binding)
			require.Equal(t, stateError, r.header.Get("Location"))
			require.Nil(t, r.session)
		}
		// ... and it used the attacker's state up.
		r = finishConsoleLogin(t, b, attackerBack, attacker.cookie)
		require.Equal(t, stateError, r.header.Get("Location"))

		// A forged state is refused.
		r = finishConsoleLogin(t, b, server.BaseURL+"/console/?code=x&state="+url.QueryEscape(framework.RandomName("forged-")), victim.cookie)
		require.Equal(t, stateError, r.header.Get("Location"))
		require.Nil(t, r.session)

		// Code injection: another sign-in's code with the victim's state and cookie fails at
		// the issuer, which checks the victim's PKCE verifier against the other challenge.
		other := startConsoleLogin(t, b, "platform", mine.Path, "")
		otherBack, err := url.Parse(issuerLogin(t, platformOIDC, other.authURL, user))
		require.NoError(t, err)
		victim = startConsoleLogin(t, b, "platform", mine.Path, victim.cookie)
		authURL, err := url.Parse(victim.authURL)
		require.NoError(t, err)
		injected := server.BaseURL + "/console/?" + url.Values{"code": {otherBack.Query().Get("code")}, "state": {authURL.Query().Get("state")}}.Encode()
		r = finishConsoleLogin(t, b, injected, victim.cookie)
		require.Equal(t, "/console/#signin-error=token", r.header.Get("Location"))
		require.Nil(t, r.session)
	})

	t.Run("R49 audiences and organisations", func(t *testing.T) {
		orgA, orgB := server.NewAccount(t, "root"), server.NewAccount(t, "root")
		team := server.NewAccount(t, orgB.Path)
		providerB, err := framework.StartOIDCProvider(t.TempDir())
		require.NoError(t, err)
		t.Cleanup(providerB.Close)
		framework.KubectlStdin(t, orgB.Kubeconfig, identityProvider("corp", providerB.Issuer, providerB.CAPEM), "apply", "-f", "-")
		framework.Kubectl(t, orgB.Kubeconfig, "wait", "identityprovider/corp", "--for=condition=Ready", "--timeout=60s")
		grantRole(t, orgB, "view", "--user="+orgB.Path+":"+providerB.Users[0], true)
		grantRole(t, orgA, "view", "--user="+orgB.Path+":"+providerB.Users[0], true)

		// The sign-in page lists an organisation's providers for its exact path only; an
		// unknown path, an account that is no organisation, an organisation without identity
		// provider and the organisation's cluster ID answer alike.
		list := func(account string) string {
			r := b.do(t, http.MethodGet, "/console/oidc/providers?account="+url.QueryEscape(account), "", nil, "")
			require.Equal(t, http.StatusOK, r.code)
			return r.body
		}
		require.Contains(t, list(orgB.Path), `"id":"org:corp"`)
		require.Contains(t, list(orgB.Path), providerB.Issuer)
		blank := list("root:" + framework.RandomName("no-such-org-"))
		require.NotContains(t, blank, "corp")
		for _, other := range []string{orgA.Path, team.Path, orgB.ClusterID, "root", "*", orgB.Path + ":"} {
			require.Equal(t, blank, list(other), other)
		}

		// An organisation's user signs in with its identity provider, to the organisation.
		start := startConsoleLogin(t, b, "org:corp", orgB.Path, "")
		r := finishConsoleLogin(t, b, issuerLogin(t, providerB, start.authURL, providerB.Users[0]), start.cookie)
		require.Equal(t, "/console/#/", r.header.Get("Location"), "an organisation's user must sign in")
		info := b.do(t, http.MethodGet, "/console/session", r.session.Value, nil, "")
		require.Contains(t, info.body, `"user":"`+orgB.Path+":"+providerB.Users[0]+`"`)
		require.Contains(t, info.body, `"account":"`+orgB.Path+`"`)

		// Organisation B's provider is not offered for A, nor below B, nor for root.
		for _, account := range []string{orgA.Path, team.Path, "root"} {
			r := b.do(t, http.MethodGet, "/console/oidc/start?provider=org:corp&account="+url.QueryEscape(account), "", nil, "")
			require.Equal(t, "/console/#signin-error=provider", r.header.Get("Location"), account)
			require.Empty(t, r.header.Values("Set-Cookie"), account)
		}

		// B's ID token, pasted, signs in nowhere outside B (though its user holds a grant in
		// A); an ID token of the platform issuer for another client (audience) signs in
		// nowhere.
		l := newLoginSession(t, orgB.Path)
		l.login(t, providerB, providerB.Users[0], false)
		r = b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(l.idToken(t), orgA.Path))
		require.Equal(t, http.StatusUnauthorized, r.code, r.body)
		require.Nil(t, r.session)
		device := newLoginSession(t, "root")
		device.login(t, platformOIDC, platformOIDC.Users[0], true)
		r = b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(device.idToken(t), mine.Path))
		require.Equal(t, http.StatusUnauthorized, r.code, r.body)
		require.Nil(t, r.session)
	})

	t.Run("R50 kubeconfig", func(t *testing.T) {
		alice, _ := b.signIn(t, aliceToken, mine.Path)
		get := func(t *testing.T, session string, h http.Header) consoleResponse {
			t.Helper()
			return b.do(t, http.MethodGet, "/console/kubeconfig?account="+url.QueryEscape(mine.Path), session, h, "")
		}
		require.Equal(t, http.StatusUnauthorized, get(t, "", nil).code, "no session, no kubeconfig")
		require.Equal(t, http.StatusForbidden, get(t, alice, http.Header{"Sec-Fetch-Site": {"cross-site"}}).code)
		require.Equal(t, http.StatusForbidden, get(t, alice, http.Header{"Sec-Fetch-Site": {"same-site"}}).code)

		// A token user's kubeconfig holds no token: kubectl without one gets nothing.
		r := get(t, alice, nil)
		require.Equal(t, http.StatusOK, r.code, r.body)
		require.NotContains(t, r.body, aliceToken)
		require.NotContains(t, strings.ToLower(r.body), "token: ")
		file := filepath.Join(t.TempDir(), "k")
		require.NoError(t, os.WriteFile(file, []byte(r.body), 0o600))
		_, _, err := framework.KubectlResult(t, file, "", "get", "configmaps")
		require.Error(t, err)

		// An OIDC user's kubeconfig holds neither the ID token nor the console's client; it
		// names the issuer for kubectl to sign in by itself.
		start := startConsoleLogin(t, b, "platform", mine.Path, "")
		s := finishConsoleLogin(t, b, issuerLogin(t, platformOIDC, start.authURL, user), start.cookie)
		require.NotNil(t, s.session)
		r = get(t, s.session.Value, nil)
		require.Equal(t, http.StatusOK, r.code, r.body)
		require.NotContains(t, r.body, "eyJ", "no JWT in a kubeconfig")
		require.NotContains(t, r.body, s.session.Value)
		require.Contains(t, r.body, "--oidc-issuer-url="+platformOIDC.Issuer)
		require.NotContains(t, r.body, "client-secret")
	})
}
