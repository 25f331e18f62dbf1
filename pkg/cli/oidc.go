package cli

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/pflag"
	"golang.org/x/oauth2"
)

// expirySkew is how long before its expiry a cached ID token is refreshed.
const expirySkew = 30 * time.Second

// issuerFlags name an OpenID Connect issuer and the client that logs in with it; login and
// get-token share them, and login passes them on to get-token in the kubeconfig.
type issuerFlags struct {
	// IssuerURL is the issuer's URL.
	IssuerURL string
	// ClientID and ClientSecret are the OAuth client; the secret is empty for public clients.
	ClientID, ClientSecret string
	// CAFile is a PEM bundle to trust for the issuer; the host's roots when empty.
	CAFile string
	// Scopes are requested besides openid.
	Scopes []string
}

func (f *issuerFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.IssuerURL, "issuer-url", f.IssuerURL, "URL of the OpenID Connect issuer.")
	fs.StringVar(&f.ClientID, "client-id", f.ClientID, "OAuth client ID registered with the issuer.")
	fs.StringVar(&f.ClientSecret, "client-secret", f.ClientSecret, "OAuth client secret, for confidential clients.")
	fs.StringVar(&f.CAFile, "certificate-authority", f.CAFile, "PEM bundle of the CAs that sign the issuer's certificate; the host's roots when empty.")
	fs.StringSliceVar(&f.Scopes, "scopes", []string{"profile", "email", oidc.ScopeOfflineAccess}, "Scopes to request besides openid.")
}

func (f *issuerFlags) validate() error {
	var errs []error
	if f.IssuerURL == "" {
		errs = append(errs, errors.New("--issuer-url is required"))
	}
	if f.ClientID == "" {
		errs = append(errs, errors.New("--client-id is required"))
	}
	return errors.Join(errs...)
}

// args returns the flags as arguments, for the exec credential plugin.
func (f *issuerFlags) args() []string {
	args := []string{"--issuer-url=" + f.IssuerURL, "--client-id=" + f.ClientID}
	if f.ClientSecret != "" {
		args = append(args, "--client-secret="+f.ClientSecret)
	}
	if f.CAFile != "" {
		args = append(args, "--certificate-authority="+f.CAFile)
	}
	return args
}

// key identifies the issuer and client, for the cache file and the kubeconfig user.
func (f *issuerFlags) key() string {
	sum := sha256.Sum256([]byte(f.IssuerURL + "\x00" + f.ClientID))
	return hex.EncodeToString(sum[:8])
}

// issuer is a discovered issuer with the client's OAuth configuration.
type issuer struct {
	ctx      context.Context
	provider *oidc.Provider
	oauth    *oauth2.Config
	clientID string
}

// discover fetches the issuer's discovery document. The returned issuer's context carries the
// HTTP client that trusts CAFile.
func (f *issuerFlags) discover(ctx context.Context, redirectURL string) (*issuer, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read --certificate-authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--certificate-authority %s holds no PEM certificate", f.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	ctx = oidc.ClientContext(ctx, &http.Client{Transport: transport, Timeout: 30 * time.Second})
	p, err := oidc.NewProvider(ctx, f.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("failed to discover the issuer %s: %w", f.IssuerURL, err)
	}
	endpoint := p.Endpoint()
	if f.ClientSecret != "" {
		// client_secret_basic, the OpenID Connect default. Guessing per request would switch
		// to form parameters after the first "authorization pending" of the device flow.
		endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &issuer{
		ctx:      ctx,
		provider: p,
		clientID: f.ClientID,
		oauth: &oauth2.Config{
			ClientID:     f.ClientID,
			ClientSecret: f.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  redirectURL,
			Scopes:       append([]string{oidc.ScopeOpenID}, f.Scopes...),
		},
	}, nil
}

// cachedToken is what the token cache keeps of a login.
type cachedToken struct {
	IDToken      string    `json:"idToken"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	Expiry       time.Time `json:"expiry"`
}

// verify checks the ID token of a token response and returns what to cache. nonce is checked
// when not empty. A response without a refresh token keeps previousRefresh.
func (i *issuer) verify(tok *oauth2.Token, nonce, previousRefresh string) (*cachedToken, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, errors.New("the issuer returned no ID token")
	}
	idToken, err := i.provider.Verifier(&oidc.Config{ClientID: i.clientID}).Verify(i.ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("the issuer returned an invalid ID token: %w", err)
	}
	if nonce != "" && idToken.Nonce != nonce {
		return nil, errors.New("the issuer returned an ID token for another login (nonce mismatch)")
	}
	refresh := tok.RefreshToken
	if refresh == "" {
		refresh = previousRefresh
	}
	return &cachedToken{IDToken: raw, RefreshToken: refresh, Expiry: idToken.Expiry}, nil
}

// refresh exchanges the cached refresh token for a new ID token.
func (i *issuer) refresh(c *cachedToken) (*cachedToken, error) {
	if c.RefreshToken == "" {
		return nil, errors.New("the cached login has expired and has no refresh token: run kubectl mesh login again")
	}
	tok, err := i.oauth.TokenSource(i.ctx, &oauth2.Token{RefreshToken: c.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return nil, fmt.Errorf("failed to refresh the login (run kubectl mesh login again): %w", err)
	}
	return i.verify(tok, "", c.RefreshToken)
}

// valid reports whether the cached ID token is usable for a while longer.
func (c *cachedToken) valid(now time.Time) bool {
	return c.IDToken != "" && now.Add(expirySkew).Before(c.Expiry)
}

// tokenCachePath returns the cache file of an issuer and client: under dir, or under the
// user's cache directory when dir is empty.
func tokenCachePath(dir string, f *issuerFlags) (string, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("failed to find the user's cache directory: %w", err)
		}
		dir = filepath.Join(base, "accountmesh", "oidc")
	}
	return filepath.Join(dir, f.key()+".json"), nil
}

func readTokenCache(path string) (*cachedToken, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("not logged in: run kubectl mesh login")
		}
		return nil, fmt.Errorf("failed to read the token cache: %w", err)
	}
	var c cachedToken
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("failed to parse the token cache %s: %w", path, err)
	}
	return &c, nil
}

// writeTokenCache writes the cache readable by the user only, replacing the file atomically.
func writeTokenCache(path string, c *cachedToken) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("failed to create the token cache directory: %w", err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("failed to write the token cache: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("failed to write the token cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("failed to write the token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write the token cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to write the token cache: %w", err)
	}
	return nil
}
