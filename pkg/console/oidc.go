package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"k8s.io/klog/v2"

	authoidc "github.com/accountmesh/accountmesh/pkg/authentication/oidc"
)

// Sign-in with OpenID Connect: the authorization code flow with PKCE (S256), state and nonce.
//
// GET /console/oidc/start?provider=<id>&account=<path> remembers, server-side and keyed by a
// hash of a random state, the PKCE verifier, the nonce, the provider and the account, bound
// to the browser by a random value in a short-lived HttpOnly cookie, and redirects to the
// issuer. The issuer sends the browser back to /console/?code=...&state=...: the state must be
// known, unused, unexpired and bound to this browser's cookie; it is used up at once. The code
// is exchanged server-side with the verifier (so a code injected from another flow fails at
// the issuer), the ID token is verified (issuer, audience = the console's client ID, expiry,
// nonce) and the API is asked, as that ID token, who the user is in the account: the session
// holds the ID token and ends when it expires.

const (
	// loginCookieName binds a pending sign-in to the browser that started it. It is Lax, not
	// Strict: the issuer's redirect back is a cross-site top-level navigation, which carries
	// Lax cookies only.
	loginCookieName = "__Secure-accountmesh-console-login"
	// loginTTL bounds how long a started sign-in may take.
	loginTTL = 10 * time.Minute
	// maxPendingLogins bounds the sign-ins in progress of the process.
	maxPendingLogins = 10000
	// platformProvider is the provider ID of the platform's issuer.
	platformProvider = "platform"
	// orgProviderPrefix prefixes the provider ID of an organisation's IdentityProvider.
	orgProviderPrefix = "org:"
	// providerCacheTTL is how long an issuer's discovery document is used before it is fetched
	// again.
	providerCacheTTL = 10 * time.Minute
)

// scopes are asked of every issuer: the ID token, and the standard claims user names are
// usually taken from.
var scopes = []string{oidc.ScopeOpenID, "profile", "email"}

// OIDCClient is an issuer the console signs users in with, and the client it is to it.
type OIDCClient struct {
	// IssuerURL is the issuer's URL.
	IssuerURL string
	// ClientID is the console's client ID; the ID tokens it gets carry it as their audience,
	// which the API must accept for that issuer.
	ClientID string
	// ClientSecret is the console's client secret; empty for a public client (PKCE only).
	ClientSecret string
	// CAPEM signs the issuer's serving certificate; the host's roots when empty.
	CAPEM []byte
	// KubectlClientID is the client ID that kubeconfigs name for kubectl (a public client
	// that redirects to loopback); ClientID when empty. It never carries ClientSecret.
	KubectlClientID string
}

// OrganizationProviders returns the identity providers of the organisation at path, or none
// when path is not exactly the path of an organisation, or the organisation has none.
type OrganizationProviders func(path string) []authoidc.ProviderInfo

// oidcLogin is how an OIDC session signed in: what a kubeconfig for it names.
type oidcLogin struct {
	issuer   string
	clientID string
	ca       []byte
}

// pendingLogin is a started sign-in, until the issuer sends the browser back.
type pendingLogin struct {
	verifier string
	nonce    string
	// binding is the hash of the login cookie of the browser that started it.
	binding  string
	provider string
	account  string
	expires  time.Time
}

// errLoginState is any state that may not finish a sign-in: unknown, used, expired or started
// by another browser.
var errLoginState = errors.New("the sign-in state is unknown, used, expired or of another browser")

// logins holds the sign-ins in progress, keyed by a hash of their state.
type logins struct {
	mu      sync.Mutex
	byState map[string]*pendingLogin
	max     int
	now     func() time.Time
}

func newLogins(max int, now func() time.Time) *logins {
	return &logins{byState: map[string]*pendingLogin{}, max: max, now: now}
}

// begin stores p for a fresh state, bound to the browser's binding value, and returns the
// state. Beyond max sign-ins in progress, the oldest gives way.
func (l *logins) begin(binding string, p pendingLogin) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.byState) >= l.max {
		// Anyone may start a sign-in: a flood must not lock everyone out for loginTTL, so the
		// oldest sign-in gives way (after the expired ones).
		var oldestKey string
		var oldest *pendingLogin
		for k, x := range l.byState {
			if !now.Before(x.expires) {
				delete(l.byState, k)
				continue
			}
			if oldest == nil || x.expires.Before(oldest.expires) {
				oldestKey, oldest = k, x
			}
		}
		if len(l.byState) >= l.max {
			delete(l.byState, oldestKey)
		}
	}
	state := randomString(32)
	p.binding = hashOf(binding)
	p.expires = now.Add(loginTTL)
	l.byState[hashOf(state)] = &p
	return state
}

// finish returns the sign-in of state and removes it: a state is used once. It fails for an
// unknown or expired state and for a browser other than the one that began it.
func (l *logins) finish(state, binding string) (*pendingLogin, error) {
	if state == "" || binding == "" {
		return nil, errLoginState
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := hashOf(state)
	p, ok := l.byState[key]
	if !ok {
		return nil, errLoginState
	}
	delete(l.byState, key)
	if !l.now().Before(p.expires) || subtle.ConstantTimeCompare([]byte(p.binding), []byte(hashOf(binding))) != 1 {
		return nil, errLoginState
	}
	return p, nil
}

// issuers caches the discovery of issuers.
type issuers struct {
	mu     sync.Mutex
	cached map[string]cachedIssuer
	now    func() time.Time
}

type cachedIssuer struct {
	provider *oidc.Provider
	client   *http.Client
	fetched  time.Time
}

// get returns the discovered issuer of c, and the HTTP client that reaches it.
func (is *issuers) get(ctx context.Context, c OIDCClient) (*oidc.Provider, *http.Client, error) {
	key := c.IssuerURL + "\x00" + hashOf(string(c.CAPEM))
	is.mu.Lock()
	x, ok := is.cached[key]
	is.mu.Unlock()
	if ok && is.now().Sub(x.fetched) < providerCacheTTL {
		return x.provider, x.client, nil
	}
	hc, err := authoidc.NewHTTPClient(c.CAPEM)
	if err != nil {
		return nil, nil, err
	}
	// The provider keeps the context to fetch keys later: it must outlive the request.
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), hc), c.IssuerURL)
	if err != nil {
		return nil, nil, err
	}
	is.mu.Lock()
	is.cached[key] = cachedIssuer{provider: p, client: hc, fetched: is.now()}
	is.mu.Unlock()
	return p, hc, nil
}

// providerInfo is one way to sign in, as the sign-in page lists it.
type providerInfo struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Issuer string `json:"issuer"`
}

// providers returns the OIDC clients the sign-in page may offer for account: the platform's
// issuer, and the identity providers of the organisation whose path account is exactly.
func (c *Console) providers(account string) map[string]OIDCClient {
	out := map[string]OIDCClient{}
	if c.oidc != nil {
		out[platformProvider] = *c.oidc
	}
	if c.orgProviders != nil && validAccountName(account) {
		for _, p := range c.orgProviders(account) {
			// An organisation's users sign in with the client its IdentityProvider names, as
			// a public client (PKCE): the console's redirect URI must be registered for it.
			out[orgProviderPrefix+p.Name] = OIDCClient{IssuerURL: p.Issuer, ClientID: p.ClientID, CAPEM: p.CertificateAuthority}
		}
	}
	return out
}

// serveProviders answers GET /console/oidc/providers?account=<path>: the platform's issuer
// and, when account is the path of an organisation, its identity providers. An account that
// does not exist, is not an organisation or has no identity provider answers the same.
func (c *Console) serveProviders(w http.ResponseWriter, req *http.Request) {
	account := req.URL.Query().Get("account")
	list := []providerInfo{}
	if c.oidc != nil {
		list = append(list, providerInfo{ID: platformProvider, Name: "Platform sign-in", Issuer: c.oidc.IssuerURL})
	}
	if c.orgProviders != nil && validAccountName(account) {
		for _, p := range c.orgProviders(account) {
			list = append(list, providerInfo{ID: orgProviderPrefix + p.Name, Name: p.Name, Issuer: p.Issuer})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": list})
}

// failSignIn sends the browser back to the sign-in page with one of a few fixed reasons.
func failSignIn(w http.ResponseWriter, req *http.Request, reason string) {
	http.Redirect(w, req, Prefix+"#signin-error="+reason, http.StatusSeeOther)
}

// redirectURI is where the issuer sends the browser back: the console's own page.
func redirectURI(req *http.Request) string {
	return (&url.URL{Scheme: "https", Host: req.Host, Path: Prefix}).String()
}

// oauthConfig returns the OAuth client of c for req.
func oauthConfig(c OIDCClient, p *oidc.Provider, req *http.Request) *oauth2.Config {
	endpoint := p.Endpoint()
	if c.ClientSecret == "" {
		// A public client authenticates with its ID in the form (and the PKCE verifier).
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: endpoint, RedirectURL: redirectURI(req), Scopes: scopes}
}

// serveStart answers GET /console/oidc/start?provider=<id>&account=<path>: it begins a sign-in
// and redirects to the issuer.
func (c *Console) serveStart(w http.ResponseWriter, req *http.Request) {
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		failSignIn(w, req, "cross-site")
		return
	}
	q := req.URL.Query()
	account := q.Get("account")
	if account == "" {
		account = "root"
	}
	client, ok := c.providers(account)[q.Get("provider")]
	if !ok || !validAccountName(account) {
		failSignIn(w, req, "provider")
		return
	}
	p, _, err := c.issuers.get(req.Context(), client)
	if err != nil {
		klog.FromContext(req.Context()).V(2).Info("Console sign-in: the issuer cannot be reached", "issuer", client.IssuerURL, "err", err)
		failSignIn(w, req, "issuer")
		return
	}
	binding := ""
	if ck, err := req.Cookie(loginCookieName); err == nil && len(ck.Value) == 43 {
		binding = ck.Value // several tabs of one browser may sign in at once
	} else {
		binding = randomString(32)
	}
	verifier, nonce := oauth2.GenerateVerifier(), randomString(32)
	state := c.logins.begin(binding, pendingLogin{verifier: verifier, nonce: nonce, provider: q.Get("provider"), account: account})
	http.SetCookie(w, &http.Cookie{Name: loginCookieName, Value: binding, Path: Prefix, MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, req, authCodeURL(oauthConfig(client, p, req), state, nonce, verifier), http.StatusSeeOther)
}

// authCodeURL is the issuer's authorization URL for one sign-in: code flow, PKCE S256, state
// and nonce.
func authCodeURL(cfg *oauth2.Config, state, nonce, verifier string) string {
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
}

// isCallback reports whether a request for the console's page is the issuer's redirect back.
func isCallback(req *http.Request) bool {
	q := req.URL.Query()
	return q.Has("state") || q.Has("code") || q.Has("error")
}

// serveCallback finishes a sign-in: GET /console/?code=...&state=... from the issuer.
func (c *Console) serveCallback(w http.ResponseWriter, req *http.Request) {
	log := klog.FromContext(req.Context())
	// The login cookie is used once, whatever happens.
	http.SetCookie(w, &http.Cookie{Name: loginCookieName, Path: Prefix, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	binding := ""
	if ck, err := req.Cookie(loginCookieName); err == nil {
		binding = ck.Value
	}
	q := req.URL.Query()
	pending, err := c.logins.finish(q.Get("state"), binding)
	if err != nil {
		log.V(2).Info("Console sign-in refused", "err", err)
		failSignIn(w, req, "state")
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		failSignIn(w, req, "denied")
		return
	}
	client, ok := c.providers(pending.account)[pending.provider]
	if !ok {
		failSignIn(w, req, "provider")
		return
	}
	idToken, expiry, email, err := c.exchange(req, client, q.Get("code"), pending)
	if err != nil {
		log.V(2).Info("Console sign-in: the code exchange or the ID token failed", "issuer", client.IssuerURL, "err", err)
		failSignIn(w, req, "token")
		return
	}
	// Invites are granted before the user's access is checked: an invited user may have no
	// access anywhere until then.
	if email != "" && c.acceptInvites != nil {
		if err := c.acceptInvites(req.Context(), pending.account, idToken, email); err != nil {
			log.Error(err, "Console sign-in: accepting invites failed", "issuer", client.IssuerURL)
		}
	}
	user, err := c.whoami(req, idToken, pending.account)
	if err != nil {
		log.V(2).Info("Console sign-in: the API refused the ID token", "err", err)
		failSignIn(w, req, "access")
		return
	}
	if old, err := req.Cookie(cookieName); err == nil {
		c.sessions.remove(old.Value)
	}
	kubectlClient := client.KubectlClientID
	if kubectlClient == "" {
		kubectlClient = client.ClientID
	}
	login := &oidcLogin{issuer: client.IssuerURL, clientID: kubectlClient, ca: client.CAPEM}
	id, _, err := c.sessions.createLogin(idToken, user, pending.account, login, expiry)
	if err != nil {
		failSignIn(w, req, "busy")
		return
	}
	log.V(2).Info("Console session started", "user", user, "issuer", client.IssuerURL)
	http.SetCookie(w, cookie(id, 0))
	http.Redirect(w, req, Prefix+"#/", http.StatusSeeOther)
}

// exchange trades code for tokens with the pending sign-in's verifier and returns the
// verified ID token, its expiry and its email address when the issuer says it is verified.
func (c *Console) exchange(req *http.Request, client OIDCClient, code string, pending *pendingLogin) (string, time.Time, string, error) {
	p, hc, err := c.issuers.get(req.Context(), client)
	if err != nil {
		return "", time.Time{}, "", err
	}
	ctx := context.WithValue(req.Context(), oauth2.HTTPClient, hc)
	tok, err := oauthConfig(client, p, req).Exchange(ctx, code, oauth2.VerifierOption(pending.verifier))
	if err != nil {
		return "", time.Time{}, "", err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", time.Time{}, "", errors.New("the issuer answered no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: client.ClientID, Now: c.now}).Verify(ctx, raw)
	if err != nil {
		return "", time.Time{}, "", err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pending.nonce)) != 1 {
		return "", time.Time{}, "", errors.New("the ID token's nonce is not the sign-in's")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil || !claims.EmailVerified {
		claims.Email = ""
	}
	return raw, idt.Expiry, claims.Email, nil
}
