package console

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// flowIssuer is a small OIDC issuer for the code flow: it remembers each code's PKCE
// challenge and nonce, checks the verifier at the token endpoint, and signs ID tokens whose
// claims a test may change.
type flowIssuer struct {
	*httptest.Server
	key *rsa.PrivateKey

	mu    sync.Mutex
	codes map[string][2]string // code → challenge, nonce
	// claims changes the claims of the next ID tokens.
	claims func(map[string]any)
	// verifiers are the code verifiers the token endpoint received.
	verifiers []string
	// secrets are the client secrets the token endpoint received ("" for none).
	secrets []string
}

func newFlowIssuer(t *testing.T) *flowIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	f := &flowIssuer{key: key, codes: map[string][2]string{}}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// authorize plays the user's approval of the authorization URL: it issues code for it.
func (f *flowIssuer) authorize(t *testing.T, authURL, code string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	f.mu.Lock()
	f.codes[code] = [2]string{q.Get("code_challenge"), q.Get("nonce")}
	f.mu.Unlock()
	return q
}

func (f *flowIssuer) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": f.URL, "authorization_endpoint": f.URL + "/authorize", "token_endpoint": f.URL + "/token",
			"jwks_uri": f.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case "/keys":
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}})
	case "/token":
		_ = r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		code := r.PostForm.Get("code")
		got, ok := f.codes[code]
		delete(f.codes, code)
		verifier := r.PostForm.Get("code_verifier")
		f.verifiers = append(f.verifiers, verifier)
		_, secret, _ := r.BasicAuth()
		f.secrets = append(f.secrets, secret+r.PostForm.Get("client_secret"))
		if !ok || oauth2.S256ChallengeFromVerifier(verifier) != got[0] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		claims := map[string]any{"iss": f.URL, "sub": "bob", "aud": "console", "nonce": got[1],
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		if f.claims != nil {
			f.claims(claims)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: f.key, KeyID: "k"}}, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		payload, _ := json.Marshal(claims)
		jws, err := signer.Sign(payload)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		idToken, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
	default:
		http.NotFound(w, r)
	}
}

// TestCallbackVerifiesTheIDToken runs the code flow against a fake issuer and an API that
// accepts any bearer token: the console starts a session only for an ID token of the issuer,
// for its client ID, unexpired and with the sign-in's nonce, got with the sign-in's PKCE
// verifier; the session holds that ID token until it expires.
func TestCallbackVerifiesTheIDToken(t *testing.T) {
	t.Parallel()
	issuer := newFlowIssuer(t)
	var mu sync.Mutex
	var tokens []string
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/selfsubjectreviews") {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"status":{"userInfo":{"username":"platform:bob"}}}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	})
	public := New(Options{API: api, OIDC: &OIDCClient{IssuerURL: issuer.URL, ClientID: "console", CAPEM: caOf(issuer.Server), KubectlClientID: "kubectl"}})
	c := public
	serve := func(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "https://mesh.example"+target, nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec
	}
	// signIn starts a sign-in, lets the issuer issue code for it (or for another sign-in's
	// challenge, with inject) and returns where the callback sends the browser and the
	// session cookie, if any.
	signIn := func(t *testing.T, claims func(map[string]any), inject bool) (string, *http.Cookie) {
		t.Helper()
		issuer.mu.Lock()
		issuer.claims = claims
		issuer.mu.Unlock()
		rec := serve("/console/oidc/start?provider=platform&account=root:a")
		require.Equal(t, http.StatusSeeOther, rec.Code)
		var login *http.Cookie
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == loginCookieName {
				login = ck
			}
		}
		require.NotNil(t, login)
		authURL := rec.Header().Get("Location")
		code := randomString(16)
		if inject {
			other := serve("/console/oidc/start?provider=platform&account=root:a").Header().Get("Location")
			issuer.authorize(t, other, code)
		} else {
			issuer.authorize(t, authURL, code)
		}
		u, err := url.Parse(authURL)
		require.NoError(t, err)
		rec = serve("/console/?"+url.Values{"code": {code}, "state": {u.Query().Get("state")}}.Encode(), login)
		require.Equal(t, http.StatusSeeOther, rec.Code)
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == cookieName {
				return rec.Header().Get("Location"), ck
			}
		}
		return rec.Header().Get("Location"), nil
	}

	where, session := signIn(t, nil, false)
	require.Equal(t, "/console/#/", where)
	require.NotNil(t, session)
	x, ok := c.sessions.get(session.Value)
	require.True(t, ok)
	require.Equal(t, "platform:bob", x.user)
	require.Equal(t, "root:a", x.account)
	require.Equal(t, issuer.URL, x.login.issuer)
	require.Equal(t, "kubectl", x.login.clientID)
	require.Equal(t, 3, strings.Count(x.token, ".")+1, "the session holds the ID token")
	mu.Lock()
	require.Contains(t, tokens, x.token, "the API was asked who the ID token is")
	mu.Unlock()
	require.WithinDuration(t, time.Now().Add(time.Hour), x.expires, time.Minute)

	for name, tc := range map[string]struct {
		claims func(map[string]any)
		inject bool
	}{
		"another audience":       {claims: func(m map[string]any) { m["aud"] = "another-client" }},
		"another issuer":         {claims: func(m map[string]any) { m["iss"] = "https://evil.example" }},
		"another nonce":          {claims: func(m map[string]any) { m["nonce"] = "replayed" }},
		"no nonce":               {claims: func(m map[string]any) { delete(m, "nonce") }},
		"expired":                {claims: func(m map[string]any) { m["exp"] = time.Now().Add(-time.Minute).Unix() }},
		"another sign-in's code": {inject: true},
	} {
		where, session := signIn(t, tc.claims, tc.inject)
		require.Equal(t, "/console/#signin-error=token", where, name)
		require.Nil(t, session, name)
	}
	issuer.mu.Lock()
	for _, v := range issuer.verifiers {
		require.Len(t, v, 43, "every exchange sent a PKCE verifier")
	}
	for _, s := range issuer.secrets {
		require.Empty(t, s, "a public client sends no secret")
	}
	issuer.secrets = nil
	issuer.mu.Unlock()

	// A confidential console sends its secret to the token endpoint (and only there, never
	// through the browser: TestStartAndCallback).
	c = New(Options{API: api, OIDC: &OIDCClient{IssuerURL: issuer.URL, ClientID: "console", ClientSecret: "s3cret", CAPEM: caOf(issuer.Server)}})
	where, session = signIn(t, nil, false)
	require.Equal(t, "/console/#/", where)
	require.NotNil(t, session)
	_, ok = public.sessions.get(session.Value)
	require.False(t, ok, "sessions are the console's own")
	issuer.mu.Lock()
	defer issuer.mu.Unlock()
	require.Equal(t, []string{"s3cret"}, issuer.secrets)
}
