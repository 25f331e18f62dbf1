package identityprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/klog/v2"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication/oidc"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// builtProvider is an installed authenticator and the object version it was built from.
type builtProvider struct {
	uid        types.UID
	generation int64
	client     *http.Client
	// health reports whether the authenticator has loaded the issuer's keys.
	health func() error
	err    error
}

type reconciler struct {
	orgs *oidc.Orgs

	mu    sync.Mutex
	built map[string]builtProvider

	get          func(key string) (*iamv1alpha1.IdentityProvider, bool, error)
	updateStatus func(ctx context.Context, id cluster.ID, idp *iamv1alpha1.IdentityProvider) error
	// probe fetches the issuer's discovery document and keys and says how that went.
	probe func(ctx context.Context, c *http.Client, issuer string) (discovery, keys metav1.Condition)
	// build creates the authenticator of a provider and the HTTP client it uses.
	build func(ctx context.Context, idp *iamv1alpha1.IdentityProvider) (oidc.Provider, *http.Client, error)
	now   func() time.Time
}

// reconcile installs, replaces or removes the authenticator of one IdentityProvider, probes its
// issuer and writes its status. It returns when to probe again.
func (r *reconciler) reconcile(ctx context.Context, key string) (time.Duration, error) {
	id, _, name, err := client.SplitClusterKey(key)
	if err != nil {
		return 0, err
	}
	idp, ok, err := r.get(key)
	if err != nil {
		return 0, err
	}
	if !ok || idp.DeletionTimestamp != nil {
		r.remove(key, id, name)
		return 0, nil
	}
	b := r.ensureProvider(ctx, key, id, idp)
	status := idp.Status.DeepCopy()
	status.ObservedGeneration = idp.Generation
	var recheck time.Duration
	if b.err != nil {
		r.setConditions(status, idp.Generation,
			condition(iamv1alpha1.ConditionDiscovery, metav1.ConditionUnknown, iamv1alpha1.ReasonConfigurationInvalid, "not fetched: the configuration is invalid"),
			condition(iamv1alpha1.ConditionKeys, metav1.ConditionUnknown, iamv1alpha1.ReasonConfigurationInvalid, "not fetched: the configuration is invalid"),
			condition(iamv1alpha1.ConditionReady, metav1.ConditionFalse, iamv1alpha1.ReasonConfigurationInvalid, b.err.Error()))
	} else {
		discovery, keys := r.probe(ctx, b.client, idp.Spec.IssuerURL)
		ready := condition(iamv1alpha1.ConditionReady, metav1.ConditionTrue, iamv1alpha1.ReasonAuthenticating, "the issuer's discovery document and keys were fetched")
		recheck = recheckReady
		switch {
		case discovery.Status != metav1.ConditionTrue || keys.Status != metav1.ConditionTrue:
			ready = condition(iamv1alpha1.ConditionReady, metav1.ConditionFalse, iamv1alpha1.ReasonNotReady, "the issuer's discovery document or keys could not be fetched; see the Discovery and Keys conditions")
			recheck = retryNotReady
		case b.health != nil && b.health() != nil:
			ready = condition(iamv1alpha1.ConditionReady, metav1.ConditionFalse, iamv1alpha1.ReasonNotReady, "the authenticator is loading the issuer's keys")
			recheck = retryInitializing
		}
		r.setConditions(status, idp.Generation, discovery, keys, ready)
	}
	if apiequality.Semantic.DeepEqual(status, &idp.Status) {
		return recheck, nil
	}
	updated := idp.DeepCopy()
	updated.Status = *status
	if err := r.updateStatus(ctx, id, updated); err != nil {
		return 0, fmt.Errorf("failed to update the status of identity provider %s: %w", name, err)
	}
	return recheck, nil
}

// ensureProvider builds the authenticator when the object is new or its spec changed.
func (r *reconciler) ensureProvider(ctx context.Context, key string, id cluster.ID, idp *iamv1alpha1.IdentityProvider) builtProvider {
	r.mu.Lock()
	b, ok := r.built[key]
	r.mu.Unlock()
	if ok && b.uid == idp.UID && b.generation == idp.Generation {
		return b
	}
	p, c, err := r.build(ctx, idp)
	b = builtProvider{uid: idp.UID, generation: idp.Generation, client: c, err: err}
	if hc, ok := p.Authenticator.(interface{ HealthCheck() error }); ok {
		b.health = hc.HealthCheck
	}
	if err != nil {
		r.orgs.Delete(id, idp.Name)
	} else {
		r.orgs.Set(id, idp.Name, p)
		klog.FromContext(ctx).V(2).Info("Installed identity provider", "issuer", idp.Spec.IssuerURL)
	}
	r.mu.Lock()
	r.built[key] = b
	r.mu.Unlock()
	return b
}

func (r *reconciler) remove(key string, id cluster.ID, name string) {
	r.orgs.Delete(id, name)
	r.mu.Lock()
	delete(r.built, key)
	r.mu.Unlock()
}

// setConditions sets conditions, keeping transition times of unchanged statuses.
func (r *reconciler) setConditions(status *iamv1alpha1.IdentityProviderStatus, generation int64, conds ...metav1.Condition) {
	for _, c := range conds {
		c.ObservedGeneration = generation
		c.LastTransitionTime = metav1.NewTime(r.now())
		meta.SetStatusCondition(&status.Conditions, c)
	}
}

func condition(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

// buildProvider creates the upstream authenticator of an IdentityProvider. It fetches keys in
// the background until the provider is replaced or removed.
func buildProvider(ctx context.Context, idp *iamv1alpha1.IdentityProvider) (oidc.Provider, *http.Client, error) {
	c, err := oidc.NewHTTPClient([]byte(idp.Spec.CertificateAuthority))
	if err != nil {
		return oidc.Provider{}, nil, err
	}
	audiences := idp.Spec.Audiences
	if len(audiences) == 0 {
		audiences = []string{idp.Spec.ClientID}
	}
	usernamePrefix, groupsPrefix := idp.Spec.UsernamePrefix, idp.Spec.GroupsPrefix
	jwt := apiserver.JWTAuthenticator{
		Issuer: apiserver.Issuer{URL: idp.Spec.IssuerURL, Audiences: audiences},
		ClaimMappings: apiserver.ClaimMappings{
			Username: apiserver.PrefixedClaimOrExpression{Claim: idp.Spec.UsernameClaim, Prefix: &usernamePrefix},
		},
	}
	if len(audiences) > 1 {
		jwt.Issuer.AudienceMatchPolicy = apiserver.AudienceMatchPolicyMatchAny
	}
	if idp.Spec.GroupsClaim != "" {
		jwt.ClaimMappings.Groups = apiserver.PrefixedClaimOrExpression{Claim: idp.Spec.GroupsClaim, Prefix: &groupsPrefix}
	}
	authCtx, cancel := context.WithCancel(ctx)
	a, err := oidc.New(authCtx, jwt, c)
	if err != nil {
		cancel()
		return oidc.Provider{}, nil, err
	}
	return oidc.Provider{Issuer: idp.Spec.IssuerURL, Authenticator: a, Cancel: cancel,
		ClientID: idp.Spec.ClientID, CertificateAuthority: []byte(idp.Spec.CertificateAuthority)}, c, nil
}

// maxDocumentSize bounds the discovery document and key set read from an issuer.
const maxDocumentSize = 1 << 20

// probeIssuer fetches the discovery document and the key set of an issuer.
func probeIssuer(ctx context.Context, c *http.Client, issuer string) (discovery, keys metav1.Condition) {
	notFetched := condition(iamv1alpha1.ConditionKeys, metav1.ConditionFalse, iamv1alpha1.ReasonDiscoveryFailed, "not fetched: discovery failed")
	discoveryURL := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, c, discoveryURL, &doc); err != nil {
		return condition(iamv1alpha1.ConditionDiscovery, metav1.ConditionFalse, iamv1alpha1.ReasonUnreachable,
			fmt.Sprintf("failed to fetch the discovery document %s: %v", discoveryURL, err)), notFetched
	}
	if doc.Issuer != issuer || doc.JWKSURI == "" {
		return condition(iamv1alpha1.ConditionDiscovery, metav1.ConditionFalse, iamv1alpha1.ReasonInvalid,
			fmt.Sprintf("the discovery document %s names issuer %q and jwks_uri %q; want issuer %q and a jwks_uri", discoveryURL, doc.Issuer, doc.JWKSURI, issuer)), notFetched
	}
	discovery = condition(iamv1alpha1.ConditionDiscovery, metav1.ConditionTrue, iamv1alpha1.ReasonFetched, "fetched "+discoveryURL)
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, c, doc.JWKSURI, &set); err != nil {
		return discovery, condition(iamv1alpha1.ConditionKeys, metav1.ConditionFalse, iamv1alpha1.ReasonUnreachable,
			fmt.Sprintf("failed to fetch the key set %s: %v", doc.JWKSURI, err))
	}
	if len(set.Keys) == 0 {
		return discovery, condition(iamv1alpha1.ConditionKeys, metav1.ConditionFalse, iamv1alpha1.ReasonInvalid,
			fmt.Sprintf("the key set %s holds no keys", doc.JWKSURI))
	}
	return discovery, condition(iamv1alpha1.ConditionKeys, metav1.ConditionTrue, iamv1alpha1.ReasonFetched,
		fmt.Sprintf("fetched %d keys from %s", len(set.Keys), doc.JWKSURI))
}

func getJSON(ctx context.Context, c *http.Client, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}
