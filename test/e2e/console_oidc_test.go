package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// consoleLoginCookie binds a console sign-in in progress to its browser.
const consoleLoginCookie = "__Secure-accountmesh-console-login"

// TestConsoleOIDC signs in to the console in a real headless Chromium through the shared
// server's platform issuer (a real OIDC provider, its login form filled in by the browser):
// the console shows the user the provider named and the accounts they may access, the
// sign-in cookie is gone, the kubeconfig of the account names the issuer and carries no ID
// token, and signing out ends the session. A forged state on the console's callback shows the
// sign-in page with an error and starts no session. An organisation's user signs in with the
// organisation's identity provider, offered for the organisation's path in the URL. A token
// user's kubeconfig works with the real kubectl, given the token, and asks for it otherwise.
func TestConsoleOIDC(t *testing.T) {
	t.Parallel()
	mine := server.NewAccount(t, "root")
	kid := server.NewAccount(t, mine.Path)
	oidcUser := platformOIDC.Users[0]
	grantRole(t, mine, "admin", "--user=platform:"+oidcUser, true)
	grantRole(t, mine, "view", "--user=alice", true)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, kid.Path, aliceToken))

	b := newBrowser(t)
	b.do(t, "sign in with the platform issuer",
		chromedp.Navigate(server.BaseURL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`#oidc-providers button[data-provider="platform"]`)),
		chromedp.SetValue(chromedp.ID("account"), mine.Path),
		chromedp.Click(chromedp.CSS(`#oidc-providers button[data-provider="platform"]`)),
		// The issuer's own login page.
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SetValue(chromedp.ID("username"), oidcUser),
		chromedp.SetValue(chromedp.ID("password"), framework.OIDCPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q]`, kid.Path))),
	)
	require.Equal(t, "platform:"+oidcUser, evalIn[string](t, b, `document.getElementById('user').textContent`))
	require.Equal(t, server.BaseURL+"/console/#/", evalIn[string](t, b, `location.href`), "the code and state must not stay in the URL")

	var cookies []*network.Cookie
	b.do(t, "read cookies", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{server.BaseURL + "/console/"}})
		cookies = res.Cookies
		return err
	}))
	require.Len(t, cookies, 1, "only the session cookie is left")
	require.Equal(t, consoleCookie, cookies[0].Name)
	require.Equal(t, network.CookieSameSiteStrict, cookies[0].SameSite)

	t.Run("kubeconfig of an OIDC user", func(t *testing.T) {
		b.do(t, "open the account",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q] a`, kid.Path))),
			chromedp.WaitVisible(chromedp.ID("kubeconfig-link")),
		)
		href := evalIn[string](t, b, `document.getElementById('kubeconfig-link').href`)
		require.Equal(t, server.BaseURL+"/console/kubeconfig?account="+url.QueryEscape(kid.Path), href)
		text := evalIn[string](t, b, `fetch(document.getElementById('kubeconfig-link').href).then(r => r.text())`)
		cfg, err := clientcmd.Load([]byte(text))
		require.NoError(t, err, text)
		c := cfg.Clusters[cfg.CurrentContext]
		require.Equal(t, server.URL(kid.Path), c.Server)
		require.NotEmpty(t, c.CertificateAuthorityData)
		user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
		require.Empty(t, user.Token)
		require.Equal(t, "kubectl", user.Exec.Command)
		require.Subset(t, user.Exec.Args, []string{"oidc-login", "get-token", "--oidc-issuer-url=" + platformOIDC.Issuer, "--oidc-client-id=" + framework.OIDCNativeClientID})
		require.NotContains(t, text, "eyJ", "a kubeconfig carries no JWT")
	})

	t.Run("sign out", func(t *testing.T) {
		b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
		code := evalIn[int](t, b, `fetch('/console/session').then(r => r.status)`)
		require.Equal(t, http.StatusUnauthorized, code)
	})

	t.Run("forged state", func(t *testing.T) {
		b.do(t, "a forged callback",
			chromedp.Navigate(server.BaseURL+"/console/?code=forged&state="+framework.RandomName("state-")),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.WaitVisible(chromedp.ID("oidc-error")),
		)
		require.Contains(t, evalIn[string](t, b, `document.getElementById('oidc-error').textContent`), "could not be completed")
		require.Equal(t, http.StatusUnauthorized, evalIn[int](t, b, `fetch('/console/session').then(r => r.status)`))
		require.Equal(t, server.BaseURL+"/console/", evalIn[string](t, b, `location.href`))
	})

	t.Run("organisation's identity provider", func(t *testing.T) {
		org := server.NewAccount(t, "root")
		team := server.NewAccount(t, org.Path)
		provider, err := framework.StartOIDCProvider(t.TempDir())
		require.NoError(t, err)
		t.Cleanup(provider.Close)
		framework.KubectlStdin(t, org.Kubeconfig, identityProvider("corp", provider.Issuer, provider.CAPEM), "apply", "-f", "-")
		framework.Kubectl(t, org.Kubeconfig, "wait", "identityprovider/corp", "--for=condition=Ready", "--timeout=60s")
		orgUser := org.Path + ":" + provider.Users[1]
		grantRole(t, org, "view", "--user="+orgUser, true)
		corp := chromedp.CSS(`#oidc-providers button[data-provider="org:corp"]`)
		b.do(t, "sign in with the organisation's identity provider",
			chromedp.Navigate("about:blank"),
			chromedp.Navigate(server.BaseURL+"/console/#/org/"+url.PathEscape(org.Path)),
			chromedp.WaitVisible(corp),
			chromedp.Click(corp),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SetValue(chromedp.ID("username"), provider.Users[1]),
			chromedp.SetValue(chromedp.ID("password"), framework.OIDCPassword),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q]`, team.Path))),
		)
		require.Equal(t, orgUser, evalIn[string](t, b, `document.getElementById('user').textContent`))
		b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
	})

	t.Run("kubeconfig of a token user", func(t *testing.T) {
		raw := newConsoleBrowser(t)
		session, _ := raw.signIn(t, aliceToken, mine.Path)
		r := raw.do(t, http.MethodGet, "/console/kubeconfig?account="+url.QueryEscape(kid.Path), session, nil, "")
		require.Equal(t, http.StatusOK, r.code, r.body)
		require.Contains(t, r.header.Get("Content-Disposition"), "attachment")
		require.NotContains(t, r.body, aliceToken, "the session's token is never in a kubeconfig")
		file := filepath.Join(t.TempDir(), "kid.kubeconfig")
		require.NoError(t, os.WriteFile(file, []byte(r.body), 0o600))
		out := framework.Kubectl(t, file, "--token", aliceToken, "get", "namespaces", "-o", "name")
		require.Contains(t, out, "namespace/default")
		who := framework.Kubectl(t, file, "--token", aliceToken, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		require.Equal(t, "alice", who)
		// Without the token, and without a terminal to type it on, kubectl gets no credential.
		_, errOut, err := framework.KubectlResult(t, file, "", "get", "namespaces")
		require.Error(t, err)
		require.NotContains(t, errOut, "namespace/default")
	})
}

// issuerLogin plays the user at issuer p for a sign-in the console started (authURL is where
// the console redirected): it logs in as user and returns the issuer's redirect back to the
// console, without following it.
func issuerLogin(t *testing.T, p *framework.OIDCProvider, authURL, user string) string {
	t.Helper()
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(p.CAPEM))
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), p.Issuer+"/") {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(t, id, "the issuer did not show its login page: %d at %s", resp.StatusCode, resp.Request.URL)
	form := url.Values{"id": {id}, "username": {user}, "password": {framework.OIDCPassword}}
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = hc.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	back := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(back, server.BaseURL+"/console/?"), "the issuer answered %d, Location %q", resp.StatusCode, back)
	return back
}

// consoleLogin is a console sign-in started by a raw browser: the issuer's URL and the
// browser's login cookie.
type consoleLogin struct {
	authURL string
	cookie  string
}

// startConsoleLogin starts a sign-in with provider for account, as a browser that already has
// the login cookie binding (none: a fresh browser).
func startConsoleLogin(t *testing.T, b *consoleBrowser, provider, account, binding string) consoleLogin {
	t.Helper()
	var h http.Header
	if binding != "" {
		h = http.Header{"Cookie": {consoleLoginCookie + "=" + binding}}
	}
	r := b.do(t, http.MethodGet, "/console/oidc/start?provider="+url.QueryEscape(provider)+"&account="+url.QueryEscape(account), "", h, "")
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	l := consoleLogin{authURL: r.header.Get("Location"), cookie: binding}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == consoleLoginCookie {
			l.cookie = c.Value
		}
	}
	require.NotContains(t, l.authURL, "#signin-error", "the sign-in did not start")
	require.NotEmpty(t, l.cookie)
	return l
}

// finishConsoleLogin visits the console's callback (an absolute URL) with the login cookie
// binding and returns the answer.
func finishConsoleLogin(t *testing.T, b *consoleBrowser, callback, binding string) consoleResponse {
	t.Helper()
	u, err := url.Parse(callback)
	require.NoError(t, err)
	var h http.Header
	if binding != "" {
		h = http.Header{"Cookie": {consoleLoginCookie + "=" + binding}}
	}
	return b.do(t, http.MethodGet, u.RequestURI(), "", h, "")
}
