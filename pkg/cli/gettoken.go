package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthenticationv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
)

// GetTokenOptions are the options of `kubectl mesh get-token`, the exec credential plugin that
// login installs: it prints the cached ID token as an ExecCredential, refreshing it with the
// refresh token when it is about to expire.
type GetTokenOptions struct {
	*Options
	issuerFlags

	// CacheDir overrides where tokens are cached; the user's cache directory when empty.
	CacheDir string

	cachePath string
	now       func() time.Time
}

// NewGetTokenOptions returns the options of the get-token command.
func NewGetTokenOptions(o *Options) *GetTokenOptions {
	return &GetTokenOptions{Options: o, now: time.Now}
}

// BindFlags adds the command's flags.
func (o *GetTokenOptions) BindFlags(cmd *cobra.Command) {
	o.bind(cmd.Flags())
	cmd.Flags().StringVar(&o.CacheDir, "cache-dir", o.CacheDir, "Directory of the token cache; the user's cache directory when empty.")
}

// Complete derives the cache file.
func (o *GetTokenOptions) Complete([]string) error {
	var err error
	o.cachePath, err = tokenCachePath(o.CacheDir, &o.issuerFlags)
	return err
}

// Validate checks the flags.
func (o *GetTokenOptions) Validate() error { return o.validate() }

// refresh refreshes and caches an expired token. When the refresh fails because another
// kubectl refreshed (and rotated) the token first, it uses what that one cached.
func (o *GetTokenOptions) refresh(ctx context.Context, expired *cachedToken) (*cachedToken, error) {
	iss, err := o.discover(ctx, "")
	if err != nil {
		return nil, err
	}
	tok, err := iss.refresh(expired)
	if err != nil {
		if current, readErr := readTokenCache(o.cachePath); readErr == nil && current.valid(o.now()) {
			return current, nil
		}
		return nil, err
	}
	return tok, writeTokenCache(o.cachePath, tok)
}

// Run prints the ExecCredential.
func (o *GetTokenOptions) Run(ctx context.Context) error {
	tok, err := readTokenCache(o.cachePath)
	if err != nil {
		return err
	}
	if !tok.valid(o.now()) {
		if tok, err = o.refresh(ctx, tok); err != nil {
			return err
		}
	}
	expiry := metav1.NewTime(tok.Expiry)
	cred := clientauthenticationv1.ExecCredential{
		TypeMeta: metav1.TypeMeta{APIVersion: execAPIVersion, Kind: "ExecCredential"},
		Status:   &clientauthenticationv1.ExecCredentialStatus{Token: tok.IDToken, ExpirationTimestamp: &expiry},
	}
	out, err := json.Marshal(cred)
	if err != nil {
		return fmt.Errorf("failed to encode the credential: %w", err)
	}
	_, err = fmt.Fprintln(o.Out, string(out))
	return err
}
