package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Prefix is where the console is served.
const Prefix = "/console/"

const (
	cookieName = "__Secure-accountmesh-console"
	csrfHeader = "X-CSRF-Token"
	// maxTokenBytes bounds the token a user may paste.
	maxTokenBytes = 16 << 10
)

//go:embed assets
var assets embed.FS

// contentSecurityPolicy allows the console's own scripts, styles and API calls only: no inline
// script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Options configure the console.
type Options struct {
	// API serves the server's API (/clusters/...) with the full handler chain; the proxy and
	// the sign-in replay requests through it as the user.
	API http.Handler
	// MaxSessions bounds the sessions of the process; 0 means 10,000.
	MaxSessions int
	// MaxSessionsPerCredential bounds the sessions of one token (the oldest gives way); 0 means 16.
	MaxSessionsPerCredential int
	// IdleTimeout ends a session unused for that long; 0 means 8 hours.
	IdleTimeout time.Duration
	// MaxAge ends a session that old; 0 means 24 hours.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OIDC is the platform's issuer for signing in; nil offers none.
	OIDC *OIDCClient
	// OrganizationProviders lists an organisation's identity providers for signing in; nil
	// offers none.
	OrganizationProviders OrganizationProviders
	// CACert is the PEM bundle of the server's CA, which kubeconfigs carry.
	CACert []byte
	// AcceptInvites grants the pending Invites of email to the user of the ID token, which
	// signed in through OIDC to account; the console calls it with the token's email claim only
	// when the issuer verified it. Nil accepts none.
	AcceptInvites func(ctx context.Context, account, idToken, email string) error
}

// Console serves /console/.
type Console struct {
	api           http.Handler
	sessions      *sessions
	files         http.Handler
	oidc          *OIDCClient
	orgProviders  OrganizationProviders
	logins        *logins
	issuers       *issuers
	caCert        []byte
	acceptInvites func(ctx context.Context, account, idToken, email string) error
	now           func() time.Time
}

// New returns the console of opts.
func New(opts Options) *Console {
	if opts.MaxSessions == 0 {
		opts.MaxSessions = 10000
	}
	if opts.MaxSessionsPerCredential == 0 {
		opts.MaxSessionsPerCredential = 16
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 8 * time.Hour
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	return &Console{
		api:      opts.API,
		sessions: newSessions(opts.MaxSessions, opts.MaxSessionsPerCredential, opts.IdleTimeout, opts.MaxAge, opts.Now),
		files:    http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServer(http.FS(sub))),

		oidc:          opts.OIDC,
		orgProviders:  opts.OrganizationProviders,
		logins:        newLogins(maxPendingLogins, opts.Now),
		issuers:       &issuers{cached: map[string]cachedIssuer{}, now: opts.Now},
		caCert:        opts.CACert,
		acceptInvites: opts.AcceptInvites,
		now:           opts.Now,
	}
}

// Wrap serves the console's paths and passes every other request to next.
func (c *Console) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == strings.TrimSuffix(Prefix, "/") || strings.HasPrefix(req.URL.Path, Prefix) {
			c.ServeHTTP(w, req)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// ServeHTTP serves /console and everything below it.
func (c *Console) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	p := req.URL.Path
	switch {
	case p == strings.TrimSuffix(Prefix, "/"):
		http.Redirect(w, req, Prefix, http.StatusMovedPermanently)
	case p == Prefix+"session":
		h.Set("Cache-Control", "no-store")
		c.serveSession(w, req)
	case p == Prefix && req.Method == http.MethodGet && isCallback(req):
		h.Set("Cache-Control", "no-store")
		c.serveCallback(w, req)
	case p == Prefix+"oidc/providers" && req.Method == http.MethodGet:
		h.Set("Cache-Control", "no-store")
		c.serveProviders(w, req)
	case p == Prefix+"oidc/start" && req.Method == http.MethodGet:
		h.Set("Cache-Control", "no-store")
		c.serveStart(w, req)
	case p == Prefix+"kubeconfig" && req.Method == http.MethodGet:
		h.Set("Cache-Control", "no-store")
		c.serveKubeconfig(w, req)
	case strings.HasPrefix(p, Prefix+"api/"):
		h.Set("Cache-Control", "no-store")
		c.serveProxy(w, req)
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		h.Set("Cache-Control", "no-cache")
		c.files.ServeHTTP(w, req)
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "console"}, strings.ToLower(req.Method)))
	}
}

// signIn is the body of POST /console/session.
type signIn struct {
	Token   string `json:"token"`
	Account string `json:"account"`
}

// sessionInfo is what GET and POST /console/session answer.
type sessionInfo struct {
	User      string `json:"user,omitempty"`
	Account   string `json:"account"`
	CSRFToken string `json:"csrfToken"`
}

// serveSession answers the session of the cookie (GET), signs in (POST) and out (DELETE).
func (c *Console) serveSession(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodGet:
		x, _, err := c.session(req)
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, http.StatusOK, sessionInfo{User: x.user, Account: x.account, CSRFToken: x.csrf})
	case http.MethodPost:
		c.signIn(w, req)
	case http.MethodDelete:
		x, id, err := c.session(req)
		if err == nil {
			err = checkWrite(req, x)
		}
		if err != nil {
			writeStatus(w, err)
			return
		}
		c.sessions.remove(id)
		http.SetCookie(w, cookie("", -1))
		w.WriteHeader(http.StatusNoContent)
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "session"}, strings.ToLower(req.Method)))
	}
}

// signIn checks the token against the API in the account named, and starts a new session for
// it. A session the browser had is ended: a session ID is never taken from a client.
func (c *Console) signIn(w http.ResponseWriter, req *http.Request) {
	if err := checkOrigin(req); err != nil {
		writeStatus(w, err)
		return
	}
	var in signIn
	if err := json.NewDecoder(io.LimitReader(req.Body, maxTokenBytes+1024)).Decode(&in); err != nil {
		writeStatus(w, apierrors.NewBadRequest("the sign-in request must be JSON with token and account"))
		return
	}
	in.Token = strings.TrimSpace(in.Token)
	in.Account = strings.TrimSpace(in.Account)
	if in.Account == "" {
		in.Account = cluster.RootPath
	}
	var errs field.ErrorList
	if in.Token == "" || len(in.Token) > maxTokenBytes || strings.ContainsAny(in.Token, " \t\r\n") {
		errs = append(errs, field.Invalid(field.NewPath("token"), "", "must be one bearer token"))
	}
	if !validAccountName(in.Account) {
		errs = append(errs, field.Invalid(field.NewPath("account"), in.Account, "must be an account path or cluster ID"))
	}
	if len(errs) > 0 {
		writeStatus(w, apierrors.NewInvalid(schema.GroupKind{Group: "console.accountmesh.io", Kind: "SignIn"}, "", errs))
		return
	}
	if old, err := req.Cookie(cookieName); err == nil {
		c.sessions.remove(old.Value)
	}
	user, err := c.whoami(req, in.Token, in.Account)
	if err != nil {
		writeStatus(w, err)
		return
	}
	id, x, err := c.sessions.create(in.Token, user, in.Account)
	if err != nil {
		writeStatus(w, apierrors.NewTooManyRequests("too many console sessions; try again later", 60))
		return
	}
	klog.FromContext(req.Context()).V(2).Info("Console session started", "user", user)
	http.SetCookie(w, cookie(id, 0))
	writeJSON(w, http.StatusCreated, sessionInfo{User: x.user, Account: x.account, CSRFToken: x.csrf})
}

// whoami asks the API, as the token, who it is in account: 401 and 403 from the API end the
// sign-in with the same status. The user name comes from a SelfSubjectReview when the account
// lets the user make one ("" otherwise).
func (c *Console) whoami(req *http.Request, token, account string) (string, error) {
	base := cluster.URLPrefix + account
	code, _ := c.call(req, token, http.MethodGet, base+"/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts?limit=1", nil)
	switch code {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return "", apierrors.NewUnauthorized("the token was not accepted in account " + account)
	case http.StatusForbidden, http.StatusNotFound:
		return "", apierrors.NewForbidden(schema.GroupResource{Resource: "accounts"}, account, fmt.Errorf("you have no access here"))
	default:
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("the API answered %d to the sign-in check", code))
	}
	body, _ := json.Marshal(authenticationv1.SelfSubjectReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"}})
	code, out := c.call(req, token, http.MethodPost, base+"/apis/authentication.k8s.io/v1/selfsubjectreviews", body)
	var review authenticationv1.SelfSubjectReview
	if code != http.StatusCreated || json.Unmarshal(out, &review) != nil {
		return "", nil
	}
	return review.Status.UserInfo.Username, nil
}

// call makes one request through the API as token and returns its status and body.
func (c *Console) call(req *http.Request, token, method, uri string, body []byte) (int, []byte) {
	r, err := http.NewRequestWithContext(req.Context(), method, uri, bytes.NewReader(body))
	if err != nil {
		return http.StatusBadRequest, nil
	}
	r.Host = req.Host
	r.RemoteAddr = req.RemoteAddr
	r.RequestURI = uri
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, r)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return rec.code, rec.body.Bytes()
}

// session returns the session of the request's cookie and its ID; a missing, forged or
// expired one is 401.
func (c *Console) session(req *http.Request) (*session, string, error) {
	ck, err := req.Cookie(cookieName)
	if err != nil {
		return nil, "", apierrors.NewUnauthorized("not signed in to the console")
	}
	x, ok := c.sessions.get(ck.Value)
	if !ok {
		return nil, "", apierrors.NewUnauthorized("the console session is unknown or expired: sign in again")
	}
	return x, ck.Value, nil
}

// checkOrigin refuses a request that a browser sent from another origin: it must carry an
// Origin of this server (browsers always send one with state-changing fetches), and no
// Sec-Fetch-Site other than same-origin.
func checkOrigin(req *http.Request) error {
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "console"}, "", fmt.Errorf("cross-site requests are refused"))
	}
	origin := req.Header.Get("Origin")
	u, err := url.Parse(origin)
	if origin == "" || err != nil || u.Scheme != "https" || u.Host != req.Host || u.Path != "" {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "console"}, "", fmt.Errorf("the request must come from this server's own origin"))
	}
	return nil
}

// checkWrite checks what every state-changing console request needs: the session's CSRF token
// and the server's own origin.
func checkWrite(req *http.Request, x *session) error {
	if !x.validCSRF(req.Header.Get(csrfHeader)) {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "console"}, "", fmt.Errorf("missing or wrong CSRF token"))
	}
	return checkOrigin(req)
}

// cookie returns the session cookie for id; maxAge -1 deletes it.
func cookie(id string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: id, Path: Prefix, MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
}

// validAccountName reports whether s may name an account in a URL: a path (segments joined by
// ":") or a cluster ID, never the wildcard.
func validAccountName(s string) bool {
	if s == "" || s == string(cluster.Wildcard) || len(s) > 1024 {
		return false
	}
	if strings.IndexFunc(s, notInAccountName) >= 0 {
		return false
	}
	return !strings.Contains(s, "..") && s != "."
}

// notInAccountName reports whether r cannot appear in an account's path or cluster ID.
func notInAccountName(r rune) bool {
	return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != ':' && r != '.'
}

// writeJSON writes v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus writes err as a Kubernetes Status.
func writeStatus(w http.ResponseWriter, err error) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	writeJSON(w, int(st.Code), st)
}

// recorder keeps the response of an in-process API call.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
