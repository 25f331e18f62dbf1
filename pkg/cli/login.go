package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// execAPIVersion is the exec credential API the installed plugin speaks.
const execAPIVersion = "client.authentication.k8s.io/v1"

// callbackPath is the path of the loopback redirect URI.
const callbackPath = "/callback"

// LoginOptions are the options of `kubectl mesh login`: it logs in with an OpenID Connect
// issuer (authorization code flow with PKCE on a loopback redirect, or the device flow),
// caches the tokens and installs `kubectl mesh get-token` as the exec credential plugin of the
// current context's user.
type LoginOptions struct {
	*Options
	issuerFlags

	// Device selects the device flow instead of the browser flow.
	Device bool
	// Browser is a command to open the login URL with; the URL is only printed when empty.
	Browser string
	// ListenAddress is the loopback address of the redirect URI; port 0 picks a free port.
	ListenAddress string
	// Timeout bounds the wait for the user.
	Timeout time.Duration
	// CacheDir overrides where tokens are cached; the user's cache directory when empty.
	CacheDir string
	// User names the kubeconfig user to install; derived from the issuer when empty.
	User string

	cachePath string
	command   string
}

// NewLoginOptions returns the options of the login command.
func NewLoginOptions(o *Options) *LoginOptions {
	return &LoginOptions{Options: o, ListenAddress: "127.0.0.1:0", Timeout: 5 * time.Minute}
}

// BindFlags adds the command's flags.
func (o *LoginOptions) BindFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	o.bind(fs)
	fs.BoolVar(&o.Device, "device", o.Device, "Use the device flow: enter a code on another device instead of a browser redirect.")
	fs.StringVar(&o.Browser, "browser", o.Browser, "Command that opens the login URL, e.g. xdg-open; the URL is printed when empty.")
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress, "Loopback address of the redirect URI; port 0 picks a free port.")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the login to finish.")
	fs.StringVar(&o.CacheDir, "cache-dir", o.CacheDir, "Directory of the token cache; the user's cache directory when empty.")
	fs.StringVar(&o.User, "kubeconfig-user", o.User, "Name of the kubeconfig user to install; derived from the issuer when empty.")
}

// Complete derives the cache file, the user name and the plugin command.
func (o *LoginOptions) Complete([]string) error {
	var err error
	if o.cachePath, err = tokenCachePath(o.CacheDir, &o.issuerFlags); err != nil {
		return err
	}
	if o.User == "" {
		o.User = "oidc-" + o.key()
	}
	if o.command, err = os.Executable(); err != nil {
		return fmt.Errorf("failed to find the kubectl-mesh executable: %w", err)
	}
	return nil
}

// Validate checks the flags.
func (o *LoginOptions) Validate() error {
	errs := []error{o.validate()}
	if host, _, err := net.SplitHostPort(o.ListenAddress); err != nil || !net.ParseIP(host).IsLoopback() {
		errs = append(errs, fmt.Errorf("--listen-address %q must be a loopback HOST:PORT", o.ListenAddress))
	}
	if o.Timeout <= 0 {
		errs = append(errs, errors.New("--timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Run logs in, caches the tokens and installs the exec plugin.
func (o *LoginOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var (
		tok *cachedToken
		err error
	)
	if o.Device {
		tok, err = o.deviceFlow(ctx)
	} else {
		tok, err = o.browserFlow(ctx)
	}
	if err != nil {
		return err
	}
	if err := writeTokenCache(o.cachePath, tok); err != nil {
		return err
	}
	if err := o.installPlugin(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "Logged in with %s; the kubeconfig user %q now uses kubectl mesh get-token.\n", o.IssuerURL, o.User)
	return err
}

// browserFlow runs the authorization code flow with PKCE, receiving the code on a loopback
// redirect URI.
func (o *LoginOptions) browserFlow(ctx context.Context) (*cachedToken, error) {
	ln, err := net.Listen("tcp", o.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("failed to listen for the login redirect: %w", err)
	}
	defer func() { _ = ln.Close() }()
	redirect := "http://" + ln.Addr().String() + callbackPath
	iss, err := o.discover(ctx, redirect)
	if err != nil {
		return nil, err
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	authURL := iss.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))

	type result struct {
		tok *cachedToken
		err error
	}
	results := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != callbackPath {
			http.NotFound(w, r)
			return
		}
		tok, err := o.exchange(iss, r, state, nonce, verifier)
		if err != nil {
			http.Error(w, "Login failed: "+err.Error(), http.StatusBadRequest)
		} else {
			_, _ = fmt.Fprintln(w, "Logged in. You can close this window and return to the terminal.")
		}
		// The browser gets its page before the command goes on and exits.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case results <- result{tok, err}:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Let the redirect's response finish before the process exits.
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()

	if _, err := fmt.Fprintf(o.ErrOut, "Open this URL in a browser to log in:\n\n    %s\n\n", authURL); err != nil {
		return nil, err
	}
	if o.Browser != "" {
		if err := exec.CommandContext(ctx, o.Browser, authURL).Start(); err != nil {
			return nil, fmt.Errorf("failed to run --browser %s: %w", o.Browser, err)
		}
	}
	select {
	case res := <-results:
		return res.tok, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("gave up waiting for the login after %s", o.Timeout)
	}
}

// exchange checks the redirect's state and exchanges its code with the PKCE verifier.
func (o *LoginOptions) exchange(iss *issuer, r *http.Request, state, nonce, verifier string) (*cachedToken, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("the issuer refused the login: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return nil, errors.New("the login redirect carries an unexpected state")
	}
	tok, err := iss.oauth.Exchange(iss.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("failed to exchange the authorization code: %w", err)
	}
	return iss.verify(tok, nonce, "")
}

// deviceFlow runs the OAuth 2.0 device authorization grant.
func (o *LoginOptions) deviceFlow(ctx context.Context) (*cachedToken, error) {
	iss, err := o.discover(ctx, "")
	if err != nil {
		return nil, err
	}
	if iss.oauth.Endpoint.DeviceAuthURL == "" {
		return nil, fmt.Errorf("the issuer %s does not offer the device flow", o.IssuerURL)
	}
	da, err := iss.oauth.DeviceAuth(iss.ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to start the device flow: %w", err)
	}
	if _, err := fmt.Fprintf(o.ErrOut, "Open %s and enter the code %s\n", da.VerificationURI, da.UserCode); err != nil {
		return nil, err
	}
	if da.VerificationURIComplete != "" {
		if _, err := fmt.Fprintf(o.ErrOut, "or open %s\n", da.VerificationURIComplete); err != nil {
			return nil, err
		}
	}
	tok, err := iss.oauth.DeviceAccessToken(iss.ctx, da)
	if err != nil {
		return nil, fmt.Errorf("the device login did not complete: %w", err)
	}
	return iss.verify(tok, "", "")
}

// installPlugin makes the current context's user run `kubectl-mesh get-token`.
func (o *LoginOptions) installPlugin() error {
	loader := o.ConfigFlags.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	name := o.currentContextName(&raw)
	kctx, ok := raw.Contexts[name]
	if !ok || kctx == nil {
		return fmt.Errorf("the kubeconfig has no current context to log in with")
	}
	args := append([]string{"get-token"}, o.args()...)
	if o.CacheDir != "" {
		args = append(args, "--cache-dir="+o.CacheDir)
	}
	raw.AuthInfos[o.User] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:      execAPIVersion,
		Command:         o.command,
		Args:            args,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		InstallHint:     "kubectl-mesh is the Account Mesh kubectl plugin; install it and run kubectl mesh login",
	}}
	kctx.AuthInfo = o.User
	if err := clientcmd.ModifyConfig(loader.ConfigAccess(), raw, true); err != nil {
		return fmt.Errorf("failed to write the kubeconfig: %w", err)
	}
	return nil
}

// randomString returns 32 random bytes, base64url encoded.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
}
