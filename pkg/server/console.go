package server

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication/oidc"
	"github.com/accountmesh/accountmesh/pkg/console"
)

// ConsoleOptions are the web console's flags of `accountmesh start`.
type ConsoleOptions struct {
	// OIDCClientID is the console's OAuth client ID at the platform's issuer (--oidc-issuer-url);
	// empty offers no sign-in with that issuer.
	OIDCClientID string
	// OIDCClientSecretFile holds the console's client secret; empty for a public client.
	OIDCClientSecretFile string
}

// AddFlags binds the options to flags.
func (o *ConsoleOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.OIDCClientID, "console-oidc-client-id", o.OIDCClientID, "The web console's OAuth client ID at the --oidc-issuer-url issuer, which must redirect to https://HOST/console/ and be an audience the API accepts (e.g. the --oidc-client-id); empty offers no sign-in with that issuer.")
	fs.StringVar(&o.OIDCClientSecretFile, "console-oidc-client-secret-file", o.OIDCClientSecretFile, "File holding the web console's OAuth client secret; empty for a public client (PKCE only).")
}

// Validate reports invalid console options.
func (o *ConsoleOptions) Validate(authn AuthenticationOptions) []error {
	var errs []error
	if o.OIDCClientID != "" && authn.OIDC.IssuerURL == "" {
		errs = append(errs, errors.New("--console-oidc-client-id needs --oidc-issuer-url"))
	}
	if o.OIDCClientSecretFile != "" {
		if o.OIDCClientID == "" {
			errs = append(errs, errors.New("--console-oidc-client-secret-file needs --console-oidc-client-id"))
		}
		if _, err := os.Stat(o.OIDCClientSecretFile); err != nil {
			errs = append(errs, fmt.Errorf("--console-oidc-client-secret-file: %w", err))
		}
	}
	return errs
}

// consoleOptions returns the web console's options but its API: sign-in with the platform's
// issuer when configured and with the organisations' identity providers, and kubeconfigs
// that trust ca.
func (s *apiServer) consoleOptions(ca []byte) (console.Options, error) {
	opts := console.Options{CACert: ca, OrganizationProviders: s.organizationProviders, AcceptInvites: s.acceptInvites}
	o, authn := s.Options.Console, s.Options.Authentication
	if o.OIDCClientID != "" {
		c := &console.OIDCClient{IssuerURL: authn.OIDC.IssuerURL, ClientID: o.OIDCClientID, KubectlClientID: authn.OIDC.ClientID}
		if o.OIDCClientSecretFile != "" {
			secret, err := os.ReadFile(o.OIDCClientSecretFile)
			if err != nil {
				return console.Options{}, fmt.Errorf("failed to read --console-oidc-client-secret-file: %w", err)
			}
			c.ClientSecret = strings.TrimSpace(string(secret))
		}
		if authn.OIDC.CAFile != "" {
			caPEM, err := os.ReadFile(authn.OIDC.CAFile)
			if err != nil {
				return console.Options{}, fmt.Errorf("failed to read --oidc-ca-file: %w", err)
			}
			c.CAPEM = caPEM
		}
		opts.OIDC = c
	}
	return opts, nil
}

// organizationProviders returns the identity providers of the organisation whose path is
// exactly path; none for anything else (an unknown path, a cluster ID, an account that is not
// an organisation), so that the console's sign-in page tells those apart no more than an
// organisation without identity providers.
func (s *apiServer) organizationProviders(path string) []oidc.ProviderInfo {
	id, ok := s.Index.Resolve(path)
	if !ok {
		return nil
	}
	e, ok := s.Index.Lookup(id)
	if !ok || e.Path != path || e.Type != corev1alpha1.TypeOrg {
		return nil
	}
	return s.authn.orgs.Providers(id)
}
