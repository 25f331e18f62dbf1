package oidc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/apis/apiserver"
	apiserverinstall "k8s.io/apiserver/pkg/apis/apiserver/install"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	authenticationcel "k8s.io/apiserver/pkg/authentication/cel"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	upstreamoidc "k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"
)

var configCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	apiserverinstall.Install(s)
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
}()

// LoadConfig reads the JWT authenticators of an AuthenticationConfiguration file
// (apiserver.config.k8s.io/v1 or v1beta1).
func LoadConfig(path string) ([]apiserver.JWTAuthenticator, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the authentication configuration: %w", err)
	}
	obj, _, err := configCodecs.UniversalDecoder().Decode(data, nil, &apiserver.AuthenticationConfiguration{})
	if err != nil {
		return nil, fmt.Errorf("failed to decode the authentication configuration %s: %w", path, err)
	}
	cfg, ok := obj.(*apiserver.AuthenticationConfiguration)
	if !ok {
		return nil, fmt.Errorf("%s is a %T, want an AuthenticationConfiguration", path, obj)
	}
	return cfg.JWT, nil
}

// NewHTTPClient returns the client used to reach an issuer: it trusts caPEM when given and
// the host's roots otherwise.
func NewHTTPClient(caPEM []byte) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(bytes.TrimSpace(caPEM)) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("the certificate authority bundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := utilnet.SetTransportDefaults(&http.Transport{TLSClientConfig: tlsConfig})
	return &http.Client{Transport: transport, Timeout: httpTimeout}, nil
}

// celCompiler is shared by all authenticators: each CEL environment is expensive, and every
// organisation's provider needs one.
var celCompiler = sync.OnceValue(authenticationcel.NewDefaultCompiler)

// New returns the upstream authenticator of one issuer. It fetches discovery and keys in the
// background until ctx is done.
func New(ctx context.Context, jwt apiserver.JWTAuthenticator, client *http.Client) (authenticator.Token, error) {
	a, err := upstreamoidc.New(ctx, upstreamoidc.Options{
		JWTAuthenticator:     jwt,
		Client:               client,
		Compiler:             celCompiler(),
		SupportedSigningAlgs: upstreamoidc.AllValidSigningAlgorithms(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the authenticator of issuer %s: %w", jwt.Issuer.URL, err)
	}
	return a, nil
}

// NewPlatform returns the authenticator of the platform-wide issuers, or nil when there are
// none. Platform users are not confined to an account subtree.
func NewPlatform(ctx context.Context, jwts []apiserver.JWTAuthenticator) (authenticator.Token, error) {
	var auths []authenticator.Token
	for _, j := range jwts {
		var ca []byte
		if j.Issuer.CertificateAuthority != "" {
			ca = []byte(j.Issuer.CertificateAuthority)
		}
		client, err := NewHTTPClient(ca)
		if err != nil {
			return nil, fmt.Errorf("issuer %s: %w", j.Issuer.URL, err)
		}
		a, err := New(ctx, j, client)
		if err != nil {
			return nil, err
		}
		auths = append(auths, a)
	}
	if len(auths) == 0 {
		return nil, nil
	}
	return tokenunion.New(auths...), nil
}

// UnverifiedIssuer returns the iss claim of a JWT without verifying it, and "" when token is
// not a JWT.
func UnverifiedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Issuer
}
