package framework

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Clients registered with every test OIDC provider.
const (
	// OIDCNativeClientID is a public client for the authorization code flow with PKCE; it
	// accepts any loopback redirect to /callback.
	OIDCNativeClientID = "mesh-cli"
	// OIDCDeviceClientID and OIDCDeviceClientSecret are a client for the device flow.
	OIDCDeviceClientID     = "mesh-device"
	OIDCDeviceClientSecret = "device-secret"
	// OIDCPassword is the password of every test user.
	OIDCPassword = "verysecure"
	// OIDCGroup is the group claim of every test user.
	OIDCGroup = "devs"
	// ConsoleRedirectGlob is the web console's redirect URI on any loopback port, which the
	// native client accepts too.
	ConsoleRedirectGlob = "https://127.0.0.1:*/console/"
)

func init() {
	storage.RegisterClients(
		storage.NativeClient(OIDCNativeClientID, "http://127.0.0.1/callback"),
		storage.DeviceClient(OIDCDeviceClientID, OIDCDeviceClientSecret),
	)
}

// OIDCProvider is a real OpenID Connect provider (zitadel/oidc's op package with its in-memory
// example storage and login pages) serving HTTPS on loopback: discovery, keys, authorization
// code flow with PKCE, refresh tokens and the device flow.
type OIDCProvider struct {
	// Issuer is the issuer URL, https://127.0.0.1:PORT.
	Issuer string
	// CAPEM is the PEM certificate clients must trust to reach the issuer.
	CAPEM []byte
	// CAFile holds CAPEM.
	CAFile string
	// Users are the user names that can log in, with OIDCPassword.
	Users []string
	// Emails are the users' email claims, in the order of Users, unique to this provider: the
	// first user's is verified (email_verified true), the second's is not.
	Emails []string

	server    *httptest.Server
	refreshes atomic.Int64
	browser   *http.Client
}

// StartOIDCProvider starts a provider; dir receives its CA file. Close stops it.
func StartOIDCProvider(dir string) (*OIDCProvider, error) {
	p := &OIDCProvider{}
	p.server = httptest.NewUnstartedServer(nil)
	p.server.StartTLS()
	p.Issuer = p.server.URL
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.server.Certificate().Raw})
	p.CAFile = filepath.Join(dir, "oidc-ca-"+strings.TrimPrefix(p.Issuer, "https://127.0.0.1:")+".crt")
	if err := os.WriteFile(p.CAFile, p.CAPEM, 0o600); err != nil {
		p.server.Close()
		return nil, err
	}
	users := storage.NewUserStore(p.Issuer)
	domain := "p" + strings.TrimPrefix(p.Issuer, "https://127.0.0.1:") + ".example.test"
	emails := map[string]string{}
	for _, id := range []string{"id1", "id2"} {
		p.Users = append(p.Users, users.GetUserByID(id).Username)
		emails[id] = id + "@" + domain
		p.Emails = append(p.Emails, emails[id])
	}
	// The example server logs every request through the default slog logger it is given.
	quiet := slog.New(slog.DiscardHandler)
	router := exampleop.SetupServer(p.Issuer, &providerStorage{Storage: storage.NewStorage(users), users: users, emails: emails}, quiet, false)
	p.server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/oauth/token" {
			if err := r.ParseForm(); err == nil && r.PostForm.Get("grant_type") == string(oidc.GrantTypeRefreshToken) {
				p.refreshes.Add(1)
			}
		}
		router.ServeHTTP(w, r)
	})
	jar, err := cookiejar.New(nil)
	if err != nil {
		p.server.Close()
		return nil, err
	}
	p.browser = p.server.Client()
	p.browser.Jar = jar
	return p, nil
}

// Close stops the provider.
func (p *OIDCProvider) Close() { p.server.Close() }

// Refreshes returns how many refresh token grants the provider answered.
func (p *OIDCProvider) Refreshes() int64 { return p.refreshes.Load() }

// Login plays the browser of the authorization code flow: it opens authURL, logs in as user
// on the provider's login page and follows the redirects back to the client's redirect URI.
func (p *OIDCProvider) Login(ctx context.Context, authURL, user string) error {
	resp, err := p.get(ctx, authURL)
	if err != nil {
		return err
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return fmt.Errorf("the provider did not show its login page for %s: ended at %s", authURL, resp.Request.URL)
	}
	resp, err = p.post(ctx, p.Issuer+"/login/username", url.Values{"id": {id}, "username": {user}, "password": {OIDCPassword}})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the redirect after login to %s answered %d", resp.Request.URL, resp.StatusCode)
	}
	return nil
}

// ApproveDevice plays the user of the device flow: it enters userCode, logs in as user and
// allows the device.
func (p *OIDCProvider) ApproveDevice(ctx context.Context, userCode, user string) error {
	if _, err := p.post(ctx, p.Issuer+"/device/login", url.Values{"user_code": {userCode}, "username": {user}, "password": {OIDCPassword}}); err != nil {
		return err
	}
	resp, err := p.post(ctx, p.Issuer+"/device/confirm", url.Values{"action": {"allowed"}})
	if err != nil {
		return err
	}
	if !strings.Contains(resp.body, "allowed") {
		return fmt.Errorf("the provider did not allow the device: %s", resp.body)
	}
	return nil
}

type browserResponse struct {
	*http.Response
	body string
}

func (p *OIDCProvider) get(ctx context.Context, u string) (*browserResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return p.do(req)
}

func (p *OIDCProvider) post(ctx context.Context, u string, form url.Values) (*browserResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.do(req)
}

func (p *OIDCProvider) do(req *http.Request) (*browserResponse, error) {
	resp, err := p.browser.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &browserResponse{Response: resp, body: string(body)}, nil
}

// providerStorage adds the user name and groups to ID tokens, which the example storage
// leaves out when an access token is issued too.
type providerStorage struct {
	*storage.Storage
	users storage.UserStore
	// emails are the email claims of the users by ID; only id1's is verified.
	emails map[string]string
}

// subjectByID is a token request whose subject is the user's ID: the example storage's device
// flow records the user name as the subject but looks users up by ID.
type subjectByID struct {
	op.IDTokenRequest
	id string
}

// GetSubject implements op.IDTokenRequest.
func (r subjectByID) GetSubject() string { return r.id }

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest.
func (s *providerStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if s.users.GetUserByID(req.GetSubject()) == nil {
		if u := s.users.GetUserByUsername(req.GetSubject()); u != nil {
			req = subjectByID{IDTokenRequest: req, id: u.ID}
		}
	}
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if u := s.users.GetUserByID(req.GetSubject()); u != nil {
		info.PreferredUsername = u.Username
		info.AppendClaims("groups", []string{OIDCGroup})
		if info.Email != "" {
			info.Email = s.emails[u.ID]
			info.EmailVerified = oidc.Bool(u.ID == "id1")
		}
	}
	return nil
}

// GetClientByClientID implements op.Storage. The native client also accepts the web console's
// redirect of a loopback server (https://127.0.0.1:PORT/console/), as an operator registers
// the console's redirect URI with the client its users sign in with.
func (s *providerStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil || id != OIDCNativeClientID {
		return c, err
	}
	return consoleRedirects{c}, nil
}

// consoleRedirects adds the console's redirect URIs to a client.
type consoleRedirects struct{ op.Client }

// RedirectURIGlobs implements op.HasRedirectGlobs.
func (consoleRedirects) RedirectURIGlobs() []string { return []string{ConsoleRedirectGlob} }

// PostLogoutRedirectURIGlobs implements op.HasRedirectGlobs.
func (consoleRedirects) PostLogoutRedirectURIGlobs() []string { return nil }

// IDTokenUserinfoClaimsAssertion implements op.Client: the ID token carries the email and
// profile claims, as most issuers' do, so that the console sees a verified address.
func (consoleRedirects) IDTokenUserinfoClaimsAssertion() bool { return true }
