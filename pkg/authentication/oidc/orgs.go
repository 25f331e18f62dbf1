package oidc

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// OrganizationExtraKey is the user extra that carries the cluster ID of the organisation whose
// identity provider authenticated the user.
const OrganizationExtraKey = authentication.OrganizationExtraKey

// httpTimeout bounds every request to an issuer.
const httpTimeout = 10 * time.Second

// errOutsideOrganization is logged, never shown, when an organisation's token is presented
// outside that organisation.
var errOutsideOrganization error = &authentication.OutsideAccountError{Reason: "token of an organisation's identity provider presented outside the organisation"}

// Lookup returns an account's index entry.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Provider is an organisation's identity provider as Orgs uses it.
type Provider struct {
	// Issuer is the issuer URL, matched against the token's unverified iss claim.
	Issuer string
	// Authenticator verifies tokens of the issuer.
	Authenticator authenticator.Token
	// Cancel stops the authenticator's background key fetching.
	Cancel context.CancelFunc
	// ClientID is the OAuth client ID users sign in with (the IdentityProvider's clientID).
	ClientID string
	// CertificateAuthority is the PEM bundle that signs the issuer's serving certificate;
	// empty for the host's roots.
	CertificateAuthority []byte
}

// ProviderInfo describes an organisation's identity provider for signing users in.
type ProviderInfo struct {
	// Name is the IdentityProvider's name.
	Name string
	// Issuer is the issuer URL.
	Issuer string
	// ClientID is the OAuth client ID users sign in with.
	ClientID string
	// CertificateAuthority is the PEM bundle of the issuer's serving certificate, if any.
	CertificateAuthority []byte
}

// providerKey names one IdentityProvider object.
type providerKey struct {
	org  cluster.ID
	name string
}

// Orgs authenticates tokens of the identity providers that organisations registered, each only
// inside its organisation's subtree. Its set of providers changes without a restart.
type Orgs struct {
	index Lookup

	mu        sync.RWMutex
	providers map[providerKey]Provider
	// byOrg lists the providers of each organisation.
	byOrg map[cluster.ID]map[string]Provider
	// issuers counts the providers of each issuer URL across organisations.
	issuers map[string]int
}

var _ authenticator.Token = &Orgs{}

// NewOrgs returns an empty set of organisation identity providers over an account index.
func NewOrgs(index Lookup) *Orgs {
	return &Orgs{
		index:     index,
		providers: map[providerKey]Provider{},
		byOrg:     map[cluster.ID]map[string]Provider{},
		issuers:   map[string]int{},
	}
}

// Set installs or replaces the provider name of organisation org, stopping the one it replaces.
func (o *Orgs) Set(org cluster.ID, name string, p Provider) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deleteLocked(providerKey{org, name})
	o.providers[providerKey{org, name}] = p
	if o.byOrg[org] == nil {
		o.byOrg[org] = map[string]Provider{}
	}
	o.byOrg[org][name] = p
	o.issuers[p.Issuer]++
}

// Delete removes the provider name of organisation org and stops it.
func (o *Orgs) Delete(org cluster.ID, name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deleteLocked(providerKey{org, name})
}

func (o *Orgs) deleteLocked(k providerKey) {
	p, ok := o.providers[k]
	if !ok {
		return
	}
	delete(o.providers, k)
	delete(o.byOrg[k.org], k.name)
	if len(o.byOrg[k.org]) == 0 {
		delete(o.byOrg, k.org)
	}
	if o.issuers[p.Issuer]--; o.issuers[p.Issuer] <= 0 {
		delete(o.issuers, p.Issuer)
	}
	if p.Cancel != nil {
		p.Cancel()
	}
}

// Has reports whether organisation org has the provider name; for tests and status.
func (o *Orgs) Has(org cluster.ID, name string) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	_, ok := o.providers[providerKey{org, name}]
	return ok
}

// Providers returns the identity providers of organisation org, sorted by name.
func (o *Orgs) Providers(org cluster.ID) []ProviderInfo {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]ProviderInfo, 0, len(o.byOrg[org]))
	for name, p := range o.byOrg[org] {
		out = append(out, ProviderInfo{Name: name, Issuer: p.Issuer, ClientID: p.ClientID, CertificateAuthority: p.CertificateAuthority})
	}
	slices.SortFunc(out, func(a, b ProviderInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// known reports whether any organisation has a provider of issuer iss.
func (o *Orgs) known(iss string) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.issuers[iss] > 0
}

// candidates returns the providers of org with the given issuer.
func (o *Orgs) candidates(org cluster.ID, iss string) []Provider {
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []Provider
	for _, p := range o.byOrg[org] {
		if p.Issuer == iss {
			out = append(out, p)
		}
	}
	return out
}

// AuthenticateToken implements authenticator.Token. Tokens whose issuer no organisation
// registered are passed over. Others are verified by the providers of the organisation the
// request's account belongs to, and rejected when that organisation has none of that issuer,
// including for root, the wildcard and requests without a known account.
func (o *Orgs) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	iss := UnverifiedIssuer(token)
	if iss == "" || !o.known(iss) {
		return nil, false, nil
	}
	org := o.organizationOf(ctx)
	candidates := o.candidates(org, iss)
	if len(candidates) == 0 {
		return nil, false, errOutsideOrganization
	}
	var errs []error
	for _, p := range candidates {
		resp, ok, err := p.Authenticator.AuthenticateToken(ctx, token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return withOrganization(resp, org), true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}

// organizationOf returns the organisation of the request's account: the nearest account of
// type org on its path, or "" when there is none.
func (o *Orgs) organizationOf(ctx context.Context) cluster.ID {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return ""
	}
	for range cluster.MaxPathLength {
		e, ok := o.index.Lookup(id)
		if !ok {
			return ""
		}
		if e.Type == corev1alpha1.TypeOrg {
			return id
		}
		if e.Parent == "" {
			return ""
		}
		id = e.Parent
	}
	return ""
}

// withOrganization copies resp with the organisation in the user's extra.
func withOrganization(resp *authenticator.Response, org cluster.ID) *authenticator.Response {
	u := resp.User
	extra := make(map[string][]string, len(u.GetExtra())+1)
	maps.Copy(extra, u.GetExtra())
	extra[OrganizationExtraKey] = []string{string(org)}
	out := *resp
	out.User = &user.DefaultInfo{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: extra}
	return &out
}
