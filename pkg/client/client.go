// Package client builds clients that address one account, or all accounts through the
// wildcard, on an Account Mesh server. All clients of a Factory share one HTTP client, so
// creating a client per account per reconcile is cheap.
//
// It must not cache per-account state; callers decide what to keep.
package client

import (
	"fmt"
	"net/http"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"

	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Factory creates clients for accounts of one server.
type Factory struct {
	base       *rest.Config
	httpClient *http.Client
}

// NewFactory returns a factory for the server that cfg points at. cfg.Host may carry a
// /clusters/<path> suffix; it is dropped.
func NewFactory(cfg *rest.Config) (*Factory, error) {
	base := rest.CopyConfig(cfg)
	if i := strings.Index(base.Host, strings.TrimSuffix(cluster.URLPrefix, "/")); i >= 0 {
		base.Host = base.Host[:i]
	}
	base.Host = strings.TrimSuffix(base.Host, "/")
	// In-process controllers must not be throttled by a client-side limiter; the server's own
	// in-flight limits protect it.
	base.QPS, base.Burst, base.RateLimiter = -1, 0, nil
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, fmt.Errorf("failed to create HTTP client: %w", err)
	}
	return &Factory{base: base, httpClient: hc}, nil
}

// HTTPClient returns the shared HTTP client.
func (f *Factory) HTTPClient() *http.Client { return f.httpClient }

// Config returns a config for the account with the given path or cluster ID, or for all
// accounts when c is cluster.Wildcard.
func (f *Factory) Config(c string) *rest.Config {
	cfg := rest.CopyConfig(f.base)
	cfg.Host = f.base.Host + cluster.URLPrefix + c
	return cfg
}

// protobufConfig returns the config of account c for typed clients: they speak protobuf, which
// the built-in types support and which is cheaper to encode and decode than JSON.
func (f *Factory) protobufConfig(c string) *rest.Config {
	cfg := f.Config(c)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return cfg
}

// Kube returns a typed client for an account. It builds a client for every API group; on hot
// paths prefer CoreV1 or RbacV1.
func (f *Factory) Kube(c string) kubernetes.Interface {
	k, err := kubernetes.NewForConfigAndClient(f.protobufConfig(c), f.httpClient)
	if err != nil {
		// The config was validated by NewFactory; only a programming error gets here.
		panic(fmt.Sprintf("failed to create client: %v", err))
	}
	return k
}

// CoreV1 returns a client of the core v1 group for an account.
func (f *Factory) CoreV1(c string) corev1client.CoreV1Interface {
	k, err := corev1client.NewForConfigAndClient(f.protobufConfig(c), f.httpClient)
	if err != nil {
		panic(fmt.Sprintf("failed to create client: %v", err))
	}
	return k
}

// RbacV1 returns a client of the rbac.authorization.k8s.io/v1 group for an account.
func (f *Factory) RbacV1(c string) rbacv1client.RbacV1Interface {
	k, err := rbacv1client.NewForConfigAndClient(f.protobufConfig(c), f.httpClient)
	if err != nil {
		panic(fmt.Sprintf("failed to create client: %v", err))
	}
	return k
}

// Dynamic returns a dynamic client for an account.
func (f *Factory) Dynamic(c string) dynamic.Interface {
	d, err := dynamic.NewForConfigAndClient(f.Config(c), f.httpClient)
	if err != nil {
		panic(fmt.Sprintf("failed to create dynamic client: %v", err))
	}
	return d
}

// Discovery returns a discovery client for an account.
func (f *Factory) Discovery(c string) discovery.DiscoveryInterface {
	d, err := discovery.NewDiscoveryClientForConfigAndClient(f.Config(c), f.httpClient)
	if err != nil {
		panic(fmt.Sprintf("failed to create discovery client: %v", err))
	}
	return d
}

// AccountMesh returns a typed client of the accountmesh.io API groups for an account, or for all
// of them with the wildcard (lists and watches only). They speak JSON: the groups have no
// protobuf encoding.
func (f *Factory) AccountMesh(c string) versioned.Interface {
	cs, err := versioned.NewForConfigAndClient(f.Config(c), f.httpClient)
	if err != nil {
		panic(fmt.Sprintf("failed to create accountmesh client: %v", err))
	}
	return cs
}

// DynamicAs returns a dynamic client for an account that impersonates u, over the shared
// connections: the server decides its requests with u's rights.
func (f *Factory) DynamicAs(c string, u *authenticationv1.UserInfo) (dynamic.Interface, error) {
	impersonate := transport.ImpersonationConfig{UserName: u.Username, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		impersonate.Extra = map[string][]string{}
		for k, v := range u.Extra {
			impersonate.Extra[k] = v
		}
	}
	hc := &http.Client{Transport: transport.NewImpersonatingRoundTripper(impersonate, f.httpClient.Transport), Timeout: f.httpClient.Timeout}
	d, err := dynamic.NewForConfigAndClient(f.Config(c), hc)
	if err != nil {
		return nil, fmt.Errorf("failed to create an impersonating client: %w", err)
	}
	return d, nil
}

// Metadata returns a metadata-only client for an account.
func (f *Factory) Metadata(c string) metadata.Interface {
	m, err := metadata.NewForConfigAndClient(f.Config(c), f.httpClient)
	if err != nil {
		panic(fmt.Sprintf("failed to create metadata client: %v", err))
	}
	return m
}
