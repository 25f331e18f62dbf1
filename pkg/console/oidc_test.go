package console

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"k8s.io/client-go/tools/clientcmd"

	authoidc "github.com/accountmesh/accountmesh/pkg/authentication/oidc"
)

func TestLoginsState(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := newLogins(2, clock)

	state := l.begin("browser-a", pendingLogin{verifier: "v", nonce: "n", provider: platformProvider, account: "root"})
	require.Len(t, state, 43, "32 random bytes")

	for _, c := range []struct{ name, state, binding string }{
		{"no state", "", "browser-a"},
		{"no browser binding", state, ""},
		{"forged state", randomString(32), "browser-a"},
	} {
		_, err := l.finish(c.state, c.binding)
		require.ErrorIs(t, err, errLoginState, c.name)
	}
	p, err := l.finish(state, "browser-a")
	require.NoError(t, err)
	require.Equal(t, "v", p.verifier)
	require.Equal(t, "n", p.nonce)
	_, err = l.finish(state, "browser-a")
	require.ErrorIs(t, err, errLoginState, "a state is used once")

	// Another browser's attempt uses the state up: it fails, and so does the right browser.
	state = l.begin("browser-a", pendingLogin{})
	_, err = l.finish(state, "browser-b")
	require.ErrorIs(t, err, errLoginState)
	_, err = l.finish(state, "browser-a")
	require.ErrorIs(t, err, errLoginState)

	// States expire.
	s1 := l.begin("browser-a", pendingLogin{})
	mu.Lock()
	now = now.Add(loginTTL)
	mu.Unlock()
	_, err = l.finish(s1, "browser-a")
	require.ErrorIs(t, err, errLoginState, "expired")

	// The store is bounded: beyond it, the oldest sign-in gives way.
	s1 = l.begin("browser-a", pendingLogin{})
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	s2 := l.begin("browser-a", pendingLogin{})
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	s3 := l.begin("browser-a", pendingLogin{})
	require.Len(t, l.byState, 2)
	_, err = l.finish(s1, "browser-a")
	require.ErrorIs(t, err, errLoginState, "the oldest gave way")
	for _, s := range []string{s2, s3} {
		_, err = l.finish(s, "browser-a")
		require.NoError(t, err)
	}
}

// fakeIssuer serves an OIDC discovery document only.
func fakeIssuer(t *testing.T) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token",
			"jwks_uri": srv.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func caOf(srv *httptest.Server) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(srv.Certificate().Raw) + "\n-----END CERTIFICATE-----\n")
}

func TestStartAndCallback(t *testing.T) {
	t.Parallel()
	issuer := fakeIssuer(t)
	c := New(Options{
		API:  http.NotFoundHandler(),
		OIDC: &OIDCClient{IssuerURL: issuer.URL, ClientID: "console", ClientSecret: "s3cret", CAPEM: caOf(issuer)},
		OrganizationProviders: func(path string) []authoidc.ProviderInfo {
			if path == "root:acme" {
				return []authoidc.ProviderInfo{{Name: "corp", Issuer: issuer.URL, ClientID: "acme-cli", CertificateAuthority: caOf(issuer)}}
			}
			return nil
		},
	})
	get := func(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "https://mesh.example"+target, nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec
	}

	// The providers of an organisation are listed for its exact path only.
	for account, want := range map[string]string{"root": `"platform"`, "root:acme": `"org:corp"`, "root:nope": `"platform"`} {
		body := get("/console/oidc/providers?account=" + url.QueryEscape(account)).Body.String()
		require.Contains(t, body, want, account)
		if account != "root:acme" {
			require.NotContains(t, body, "corp", account)
		}
	}

	rec := get("/console/oidc/start?provider=platform&account=root")
	require.Equal(t, http.StatusSeeOther, rec.Code)
	loc, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	require.Equal(t, issuer.URL+"/authorize", loc.Scheme+"://"+loc.Host+loc.Path)
	q := loc.Query()
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, "console", q.Get("client_id"))
	require.Equal(t, "https://mesh.example/console/", q.Get("redirect_uri"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Len(t, q.Get("code_challenge"), 43)
	require.NotEmpty(t, q.Get("nonce"))
	require.Contains(t, q.Get("scope"), "openid")
	require.NotContains(t, loc.RawQuery, "s3cret", "the client secret never goes through the browser")
	var login *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == loginCookieName {
			login = ck
		}
	}
	require.NotNil(t, login)
	require.True(t, login.HttpOnly)
	require.True(t, login.Secure)
	require.Equal(t, http.SameSiteLaxMode, login.SameSite)
	require.Equal(t, "/console/", login.Path)
	require.Positive(t, login.MaxAge)

	// The challenge is S256 of the verifier kept for the state.
	p, err := c.logins.finish(q.Get("state"), login.Value)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(p.verifier))
	require.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), q.Get("code_challenge"))
	require.Equal(t, q.Get("nonce"), p.nonce)
	require.Equal(t, oauth2.S256ChallengeFromVerifier(p.verifier), q.Get("code_challenge"))

	// A forged, a used and another browser's state are refused before any code exchange: no
	// session.
	rec = get("/console/oidc/start?provider=org:corp&account=root:acme")
	loc, err = url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "acme-cli", loc.Query().Get("client_id"))
	state := loc.Query().Get("state")
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == loginCookieName {
			login = ck
		}
	}
	for name, r := range map[string]*httptest.ResponseRecorder{
		"forged state":    get("/console/?code=x&state="+randomString(32), login),
		"another browser": get("/console/?code=x&state="+state, &http.Cookie{Name: loginCookieName, Value: randomString(32)}),
		"used state":      get("/console/?code=x&state="+state, login),
	} {
		require.Equal(t, http.StatusSeeOther, r.Code, name)
		require.Equal(t, "/console/#signin-error=state", r.Header().Get("Location"), name)
		for _, ck := range r.Result().Cookies() {
			require.NotEqual(t, cookieName, ck.Name, name)
		}
	}

	// Unknown providers and organisations without one start nothing.
	for _, target := range []string{"/console/oidc/start?provider=org:corp&account=root:nope", "/console/oidc/start?provider=evil&account=root"} {
		rec = get(target)
		require.Equal(t, "/console/#signin-error=provider", rec.Header().Get("Location"), target)
	}
	// A start from another site is refused.
	req := httptest.NewRequest(http.MethodGet, "https://mesh.example/console/oidc/start?provider=platform", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	require.Equal(t, "/console/#signin-error=cross-site", rec.Header().Get("Location"))
}

func TestKubeconfigCarriesNoCredential(t *testing.T) {
	t.Parallel()
	ca := []byte("server-ca")
	for name, x := range map[string]*session{
		"token": {token: "the-users-token", user: "alice", account: "root:a"},
		"oidc": {token: "the-id-token", user: "platform:bob", account: "root:a",
			login: &oidcLogin{issuer: "https://login.example", clientID: "kubectl-client", ca: []byte("idp-ca")}},
	} {
		cfg := kubeconfigFor(x, "https://mesh.example", "root:a:b", ca)
		data, err := clientcmd.Write(*cfg)
		require.NoError(t, err, name)
		require.NotContains(t, string(data), x.token, name)
		require.Equal(t, "https://mesh.example/clusters/root:a:b", cfg.Clusters[cfg.CurrentContext].Server, name)
		require.Equal(t, ca, cfg.Clusters[cfg.CurrentContext].CertificateAuthorityData, name)
		user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
		require.Empty(t, user.Token, name)
		require.NotNil(t, user.Exec, name)
		if x.login != nil {
			require.Equal(t, "kubectl", user.Exec.Command)
			args := strings.Join(user.Exec.Args, " ")
			require.Contains(t, args, "oidc-login get-token --oidc-issuer-url=https://login.example --oidc-client-id=kubectl-client")
			require.Contains(t, args, "--certificate-authority-data="+base64.StdEncoding.EncodeToString([]byte("idp-ca")))
			require.NotContains(t, args, "secret")
		} else {
			require.Equal(t, "sh", user.Exec.Command)
		}
	}
}

func TestOIDCSessionEndsWithItsIDToken(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	s := newSessions(10, 10, time.Hour, 24*time.Hour, func() time.Time { return now })
	id, _, err := s.createLogin("id-token", "bob", "root", &oidcLogin{}, now.Add(5*time.Minute))
	require.NoError(t, err)
	_, ok := s.get(id)
	require.True(t, ok)
	now = now.Add(5 * time.Minute)
	_, ok = s.get(id)
	require.False(t, ok, "the ID token expired")
}
