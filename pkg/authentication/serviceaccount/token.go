package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/utils/lru"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/pki"
)

// ClusterClaim is the private claim carrying the cluster ID of the ServiceAccount's account.
const ClusterClaim = "accountmesh.io/cluster"

// leeway is the clock skew tolerated when checking exp, nbf and iat.
const leeway = time.Minute

// signingAlgorithm is the one algorithm tokens are signed and accepted with.
const signingAlgorithm = jose.ES256

// Claims are the claims of a ServiceAccount token.
type Claims struct {
	jwt.Claims
	// Kubernetes is the upstream kubernetes.io claim.
	Kubernetes KubernetesClaim `json:"kubernetes.io"`
	// Cluster is the cluster ID of the account the ServiceAccount lives in.
	Cluster string `json:"accountmesh.io/cluster"`
}

// KubernetesClaim is the upstream kubernetes.io private claim.
type KubernetesClaim struct {
	// Namespace is the ServiceAccount's namespace.
	Namespace string `json:"namespace"`
	// ServiceAccount names the ServiceAccount.
	ServiceAccount Ref `json:"serviceaccount"`
}

// Ref names an object and its UID.
type Ref struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// verifiedCacheSize bounds the cache of tokens whose signature was checked (about 0.5 KiB each).
const verifiedCacheSize = 4096

// Tokens issues and verifies ServiceAccount tokens with one signing key.
type Tokens struct {
	issuer    string
	audiences []string
	key       *ecdsa.PrivateKey
	signer    jose.Signer
	now       func() time.Time
	// verified caches the claims of tokens whose signature was checked, keyed by the token's
	// SHA-256: a signature check costs far more than the rest of a request's authentication.
	verified *lru.Cache
}

// LoadOrCreateKey reads the PEM-encoded signing key at path, creating an ECDSA P-256 key
// (mode 0600) when the file does not exist, so tokens survive restarts.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create directory for the service account key: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Written whole or not at all: a crash cannot leave half a key behind.
		if data, err = keyutil.MakeEllipticPrivateKeyPEM(); err == nil {
			err = pki.WriteFileAtomic(path, data, 0o600)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load or generate the service account key %s: %w", path, err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the service account key %s: %w", path, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the service account key %s is a %T, want an ECDSA key", path, key)
	}
	return ec, nil
}

// NewTokens returns an issuer and verifier of tokens with issuer iss. Tokens must carry one of
// audiences to authenticate to the API; the first is the default audience of new tokens.
func NewTokens(key *ecdsa.PrivateKey, iss string, audiences []string) (*Tokens, error) {
	if iss == "" || len(audiences) == 0 {
		return nil, errors.New("service account tokens need an issuer and at least one API audience")
	}
	kid, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: signingAlgorithm, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return nil, fmt.Errorf("failed to create the service account token signer: %w", err)
	}
	return &Tokens{issuer: iss, audiences: audiences, key: key, signer: signer, now: time.Now, verified: lru.New(verifiedCacheSize)}, nil
}

// keyID derives a stable key ID from the public key, as a JWKS would publish it.
func keyID(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("failed to compute the service account key ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(thumb), nil
}

// APIAudiences returns the audiences accepted by the API.
func (t *Tokens) APIAudiences() []string { return t.audiences }

// Issue signs a token for ServiceAccount sa of account id, valid for the given audiences (the
// API audiences when empty) from now for lifetime.
func (t *Tokens) Issue(id cluster.ID, sa *corev1.ServiceAccount, audiences []string, lifetime time.Duration) (string, time.Time, error) {
	if len(audiences) == 0 {
		audiences = t.audiences
	}
	now := t.now()
	exp := now.Add(lifetime)
	c := Claims{
		Claims: jwt.Claims{
			Issuer:    t.issuer,
			Subject:   apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
			Audience:  jwt.Audience(audiences),
			Expiry:    jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Kubernetes: KubernetesClaim{
			Namespace:      sa.Namespace,
			ServiceAccount: Ref{Name: sa.Name, UID: string(sa.UID)},
		},
		Cluster: string(id),
	}
	token, err := jwt.Signed(t.signer).Claims(c).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("failed to sign the service account token: %w", err)
	}
	return token, exp, nil
}

// Verification errors. Their messages go to the server log only; clients see 401.
var (
	// ErrNotOurs means the token was not issued by this server's ServiceAccount issuer.
	ErrNotOurs = errors.New("not a service account token of this server")
	// ErrWrongAccount means the token belongs to another account than the request's.
	ErrWrongAccount error = &authentication.OutsideAccountError{Reason: "service account token presented outside its account"}
)

// Verify checks a token's signature, issuer, audience and validity period and returns its
// claims. The token must carry one of audiences, or of the API audiences when audiences is
// empty. It returns ErrNotOurs for tokens that are not ES256 JWTs of our issuer, so that tokens
// of other authenticators are passed over without noise.
func (t *Tokens) Verify(token string, audiences []string) (*Claims, error) {
	c, err := t.verifySignature(token)
	if err != nil {
		return nil, err
	}
	if len(audiences) == 0 {
		audiences = t.audiences
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: t.issuer, AnyAudience: audiences, Time: t.now()}, leeway); err != nil {
		return nil, fmt.Errorf("invalid service account token: %w", err)
	}
	if c.Expiry == nil || c.ID == "" || c.Cluster == "" || c.Kubernetes.Namespace == "" || c.Kubernetes.ServiceAccount.Name == "" || c.Kubernetes.ServiceAccount.UID == "" {
		return nil, errors.New("service account token lacks required claims")
	}
	if c.Subject != apiserverserviceaccount.MakeUsername(c.Kubernetes.Namespace, c.Kubernetes.ServiceAccount.Name) {
		return nil, errors.New("service account token subject does not match its kubernetes.io claim")
	}
	return c, nil
}

// verifySignature parses a token and checks its issuer and signature, remembering tokens that
// pass. Time-dependent checks are left to the caller.
func (t *Tokens) verifySignature(token string) (*Claims, error) {
	key := sha256.Sum256([]byte(token))
	if c, ok := t.verified.Get(key); ok {
		return c.(*Claims), nil
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{signingAlgorithm})
	if err != nil {
		return nil, ErrNotOurs
	}
	var unverified jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer != t.issuer {
		return nil, ErrNotOurs
	}
	var c Claims
	if err := parsed.Claims(t.key.Public(), &c); err != nil {
		return nil, fmt.Errorf("invalid service account token signature: %w", err)
	}
	t.verified.Add(key, &c)
	return &c, nil
}
