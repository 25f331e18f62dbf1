package server

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/cache"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/authentication/oidc"
	"github.com/accountmesh/accountmesh/pkg/authentication/serviceaccount"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/identityprovider"
	registryauthentication "github.com/accountmesh/accountmesh/pkg/registry/authentication"
	"github.com/accountmesh/accountmesh/pkg/registry/core"
	"github.com/accountmesh/accountmesh/pkg/registry/iam"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// serviceAccountKeyFile is the ServiceAccount token signing key, under the root dir's pki.
const serviceAccountKeyFile = "service-account.key"

// AuthenticationOptions are the authentication flags of `accountmesh start`.
type AuthenticationOptions struct {
	// TokenAuthFile is a static token CSV file (token,user,uid,"group1,group2").
	TokenAuthFile string
	// ServiceAccountIssuer is the iss claim of ServiceAccount tokens.
	ServiceAccountIssuer string
	// APIAudiences are the audiences the API accepts; the first is the default audience of
	// new ServiceAccount tokens. Empty means the ServiceAccount issuer.
	APIAudiences []string
	// AuthenticationConfig is an AuthenticationConfiguration file with platform-wide JWT issuers.
	AuthenticationConfig string
	// OIDC is one platform-wide issuer given by flags.
	OIDC OIDCOptions
}

// OIDCOptions describe one platform-wide OIDC issuer, as the upstream --oidc-* flags do.
type OIDCOptions struct {
	IssuerURL, ClientID, CAFile   string
	UsernameClaim, UsernamePrefix string
	GroupsClaim, GroupsPrefix     string
}

// AddFlags binds the options to flags.
func (o *AuthenticationOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.TokenAuthFile, "token-auth-file", o.TokenAuthFile, "File of static bearer tokens, one per line: token,user,uid,\"group1,group2\".")
	fs.StringVar(&o.ServiceAccountIssuer, "service-account-issuer", o.ServiceAccountIssuer, "Issuer (iss claim) of ServiceAccount tokens.")
	fs.StringSliceVar(&o.APIAudiences, "api-audiences", o.APIAudiences, "Audiences the API accepts in tokens; defaults to the ServiceAccount issuer.")
	fs.StringVar(&o.AuthenticationConfig, "authentication-config", o.AuthenticationConfig, "AuthenticationConfiguration file (apiserver.config.k8s.io/v1) with platform-wide JWT issuers.")
	fs.StringVar(&o.OIDC.IssuerURL, "oidc-issuer-url", o.OIDC.IssuerURL, "HTTPS URL of a platform-wide OpenID Connect issuer.")
	fs.StringVar(&o.OIDC.ClientID, "oidc-client-id", o.OIDC.ClientID, "Client ID (audience) of the platform-wide OpenID Connect issuer.")
	fs.StringVar(&o.OIDC.CAFile, "oidc-ca-file", o.OIDC.CAFile, "PEM bundle of the CAs that sign the OpenID Connect issuer's serving certificate; the host's roots when empty.")
	fs.StringVar(&o.OIDC.UsernameClaim, "oidc-username-claim", "sub", "ID token claim used as the user name.")
	fs.StringVar(&o.OIDC.UsernamePrefix, "oidc-username-prefix", "", "Prefix of OIDC user names; '-' for none; when empty, '<issuer-url>#' unless the username claim is email.")
	fs.StringVar(&o.OIDC.GroupsClaim, "oidc-groups-claim", "", "ID token claim used as the user's groups.")
	fs.StringVar(&o.OIDC.GroupsPrefix, "oidc-groups-prefix", "", "Prefix of OIDC group names.")
}

// defaultServiceAccountIssuer is the iss claim of ServiceAccount tokens unless configured.
const defaultServiceAccountIssuer = "https://accountmesh.default.svc"

// complete fills in defaults.
func (o *AuthenticationOptions) complete() {
	if o.ServiceAccountIssuer == "" {
		o.ServiceAccountIssuer = defaultServiceAccountIssuer
	}
	if len(o.APIAudiences) == 0 {
		o.APIAudiences = []string{o.ServiceAccountIssuer}
	}
}

// Validate reports invalid authentication options.
func (o *AuthenticationOptions) Validate() []error {
	var errs []error
	if o.OIDC.IssuerURL != "" && o.OIDC.ClientID == "" {
		errs = append(errs, errors.New("--oidc-client-id is required with --oidc-issuer-url"))
	}
	for flag, f := range map[string]string{"--token-auth-file": o.TokenAuthFile, "--authentication-config": o.AuthenticationConfig, "--oidc-ca-file": o.OIDC.CAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	return errs
}

// jwtAuthenticators returns the platform-wide issuers of the config file and the flags.
func (o *AuthenticationOptions) jwtAuthenticators() ([]apiserver.JWTAuthenticator, error) {
	var out []apiserver.JWTAuthenticator
	if o.AuthenticationConfig != "" {
		jwts, err := oidc.LoadConfig(o.AuthenticationConfig)
		if err != nil {
			return nil, err
		}
		out = append(out, jwts...)
	}
	if f := o.OIDC; f.IssuerURL != "" {
		prefix := f.UsernamePrefix
		switch {
		case prefix == "-":
			prefix = ""
		case prefix == "" && f.UsernameClaim != "email":
			prefix = f.IssuerURL + "#"
		}
		j := apiserver.JWTAuthenticator{
			Issuer: apiserver.Issuer{URL: f.IssuerURL, Audiences: []string{f.ClientID}},
			ClaimMappings: apiserver.ClaimMappings{
				Username: apiserver.PrefixedClaimOrExpression{Claim: f.UsernameClaim, Prefix: &prefix},
			},
		}
		if f.GroupsClaim != "" {
			groupsPrefix := f.GroupsPrefix
			j.ClaimMappings.Groups = apiserver.PrefixedClaimOrExpression{Claim: f.GroupsClaim, Prefix: &groupsPrefix}
		}
		if f.CAFile != "" {
			ca, err := os.ReadFile(f.CAFile)
			if err != nil {
				return nil, fmt.Errorf("failed to read --oidc-ca-file: %w", err)
			}
			j.Issuer.CertificateAuthority = string(ca)
		}
		out = append(out, j)
	}
	return out, nil
}

// authn is the server's authentication: certificates, static tokens, ServiceAccount tokens,
// platform-wide OIDC and the organisations' identity providers.
type authn struct {
	tokens *serviceaccount.Tokens
	// serviceAccounts reads ServiceAccounts; set once the core storage exists.
	serviceAccounts atomic.Pointer[serviceaccount.Getter]
	orgs            *oidc.Orgs
	// bearer authenticates every token but ServiceAccount tokens, which serviceAccountTokens
	// does: only those users may carry the reserved extra that confines them to an account.
	bearer               authenticator.Token
	serviceAccountTokens authenticator.Token
}

// newAuthentication builds the token authenticators: ServiceAccount tokens signed with key,
// the options' static tokens and platform-wide issuers, and the organisations' issuers of the
// accounts in index. The platform-wide issuers fetch their keys until ctx is done.
func newAuthentication(ctx context.Context, o AuthenticationOptions, key *ecdsa.PrivateKey, index *cluster.Index) (*authn, error) {
	// The upstream JWKS metrics carry one series per issuer, and every organisation may bring
	// its own: metrics series must not grow with the tenants.
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(map[string]bool{
		string(features.StructuredAuthenticationConfigurationJWKSMetrics): false,
	}); err != nil {
		return nil, fmt.Errorf("failed to turn off the per-issuer JWKS metrics: %w", err)
	}
	a := &authn{orgs: oidc.NewOrgs(index)}
	var err error
	if a.tokens, err = serviceaccount.NewTokens(key, o.ServiceAccountIssuer, o.APIAudiences); err != nil {
		return nil, err
	}
	var tokenAuths []authenticator.Token
	if o.TokenAuthFile != "" {
		f, err := tokenfile.NewCSV(o.TokenAuthFile)
		if err != nil {
			return nil, fmt.Errorf("failed to load --token-auth-file: %w", err)
		}
		tokenAuths = append(tokenAuths, f)
	}
	a.serviceAccountTokens = serviceaccount.NewAuthenticator(a.tokens, a.getServiceAccount, index)
	jwts, err := o.jwtAuthenticators()
	if err != nil {
		return nil, err
	}
	platform, err := oidc.NewPlatform(ctx, jwts)
	if err != nil {
		return nil, err
	}
	if platform != nil {
		tokenAuths = append(tokenAuths, platform)
	}
	tokenAuths = append(tokenAuths, a.orgs)
	// As upstream, these authenticators know nothing of audiences: they accept only requests for
	// the API's (a TokenReview may ask for others).
	a.bearer = authenticator.WrapAudienceAgnosticToken(o.APIAudiences, tokenunion.New(tokenAuths...))
	return a, nil
}

// withCertificates returns the request authenticator: ServiceAccount tokens, client
// certificates, then other bearer tokens; every user in system:authenticated, and none but
// ServiceAccounts with the groups and user extras reserved to the server.
func (a *authn) withCertificates(certs authenticator.Request) authenticator.Request {
	return a.request(certs, bearertoken.New(a.bearer))
}

// bearerTokens returns the authenticator of TokenReviews: the request authenticator without
// client certificates (and without the loopback token, which completion adds to the server's).
func (a *authn) bearerTokens() authenticator.Request {
	return a.request(bearertoken.New(a.bearer))
}

// request returns a request authenticator: ServiceAccount tokens, then others; every user in
// system:authenticated, and none but ServiceAccounts with the groups and user extras reserved
// to the server.
func (a *authn) request(others ...authenticator.Request) authenticator.Request {
	return group.NewAuthenticatedGroupAdder(union.New(
		bearertoken.New(a.serviceAccountTokens),
		authentication.WithoutReservedGroups(union.New(others...)),
	))
}

// getServiceAccount reads a ServiceAccount from the serviceaccounts storage once it exists.
func (a *authn) getServiceAccount(ctx context.Context, id cluster.ID, namespace, name string) (*corev1.ServiceAccount, error) {
	get := a.serviceAccounts.Load()
	if get == nil {
		return nil, errors.New("service accounts are not served yet")
	}
	return (*get)(ctx, id, namespace, name)
}

// addServiceAccountTokens adds the TokenRequest subresource to the core storage and lets the
// ServiceAccount authenticator read ServiceAccounts from it.
func (s *apiServer) addServiceAccountTokens(coreStorage map[string]rest.Storage) error {
	sa := coreStorage["serviceaccounts"]
	token, err := core.NewTokenREST(sa, s.authn.tokens)
	if err != nil {
		return err
	}
	coreStorage["serviceaccounts/token"] = token
	get := serviceaccount.StorageGetter(sa.(rest.Getter))
	s.authn.serviceAccounts.Store(&get)
	return nil
}

// installAuthenticationAPIs installs authentication.k8s.io (SelfSubjectReview, TokenReview) and
// iam.accountmesh.io (IdentityProvider).
func (s *apiServer) installAuthenticationAPIs() error {
	iamStorage, err := iam.NewStorage(scheme.Scheme, s.storage, s.Index)
	if err != nil {
		return err
	}
	if err := s.installGroups(
		apiGroup{authenticationv1.SchemeGroupVersion, registryauthentication.NewStorage(s.authn.bearerTokens(), s.Options.Authentication.APIAudiences)},
		apiGroup{iamv1alpha1.SchemeGroupVersion, iamStorage},
	); err != nil {
		return err
	}
	s.generic.AddPostStartHookOrDie("accountmesh-identity-providers", s.startIdentityProviders)
	return nil
}

// startIdentityProviders runs the controller that feeds the organisations' identity providers
// to the authenticator, and holds readiness until it has seen every IdentityProvider.
func (s *apiServer) startIdentityProviders(hookCtx genericapiserver.PostStartHookContext) error {
	c, err := identityprovider.New(s.clients, s.authn.orgs)
	if err != nil {
		return err
	}
	go c.Start(hookCtx.Context, 2)
	if !cache.WaitForCacheSync(hookCtx.Done(), c.HasSynced) {
		return errors.New("identity providers did not sync")
	}
	return nil
}
