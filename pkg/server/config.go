package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/accountmesh/accountmesh/pkg/admission/accountlifecycle"
	"github.com/accountmesh/accountmesh/pkg/admission/accounttypedefaults"
	"github.com/accountmesh/accountmesh/pkg/admission/crdgroup"
	"github.com/accountmesh/accountmesh/pkg/admission/namespacelifecycle"
	"github.com/accountmesh/accountmesh/pkg/admission/rbacescalation"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/discovery"
	"github.com/accountmesh/accountmesh/pkg/etcd"
	generatedopenapi "github.com/accountmesh/accountmesh/pkg/generated/openapi"
	"github.com/accountmesh/accountmesh/pkg/openapi"
	"github.com/accountmesh/accountmesh/pkg/pki"
	"github.com/accountmesh/accountmesh/pkg/scheme"
	"github.com/accountmesh/accountmesh/pkg/server/filters"
	"github.com/accountmesh/accountmesh/pkg/storage"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// etcdPrefix is where all API objects live in etcd.
const etcdPrefix = "/registry"

// rootClusterKey is the etcd key holding the root account's cluster ID.
const rootClusterKey = "/registry/accountmesh.io/root-cluster-id"

// KubeconfigFile is the name of the admin kubeconfig in the root directory.
const KubeconfigFile = "admin.kubeconfig"

// Config is the server configuration.
type Config struct {
	Options CompletedOptions
	Generic *genericapiserver.Config
	// Index maps account paths to cluster IDs.
	Index *cluster.Index
	// ExternalURL is the base URL clients use, e.g. https://127.0.0.1:6443.
	ExternalURL string
	// EtcdEndpoints are the client URLs of the etcd in use.
	EtcdEndpoints []string

	storage   storage.RESTOptionsGetter
	authz     *authorization.Authorizer
	admission *namespacelifecycle.Plugin
	crdGroups *crdgroup.Plugin
	// discovery serves per-account /apis; its sources are set once the server exists.
	discovery *discovery.Discovery
	// openapi serves per-account OpenAPI v3; its source is set once the server exists.
	openapi *openapi.OpenAPI
	purger  *storage.Purger
	// views and viewWatches serve provider views; views reads the informers of crds.go.
	views       *view.Exports
	viewWatches *view.Watches
	authn       *authn
	etcd        *etcd.Embedded
	pki         pki.Files
}

// NewConfig builds the configuration: it starts the embedded etcd when no external one is
// given, loads or creates the PKI, binds the listener and reads the root account's cluster ID.
func NewConfig(ctx context.Context, o CompletedOptions) (_ *Config, err error) {
	c := &Config{Options: o}
	boundMetricLabels(scheme.Scheme)
	defer func() {
		if err != nil && c.etcd != nil {
			c.etcd.Close()
		}
	}()
	if err := os.MkdirAll(o.RootDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create root directory: %w", err)
	}

	c.EtcdEndpoints = o.EtcdServers
	if len(c.EtcdEndpoints) == 0 {
		if c.etcd, err = etcd.StartEmbedded(ctx, filepath.Join(o.RootDir, "etcd")); err != nil {
			return nil, err
		}
		c.EtcdEndpoints = []string{c.etcd.Endpoint}
	}
	root, err := etcd.EnsureKey(ctx, c.EtcdEndpoints, rootClusterKey, func() string { return string(cluster.NewID()) })
	if err != nil {
		return nil, err
	}
	c.Index = cluster.NewIndex(cluster.ID(root))

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", o.Listen, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	host := o.host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	c.ExternalURL = "https://" + net.JoinHostPort(host, strconv.Itoa(port))

	hosts := []string{host, "127.0.0.1", "::1", "localhost"}
	hosts = slices.Compact(hosts)
	if c.pki, err = pki.Ensure(filepath.Join(o.RootDir, "pki"), hosts); err != nil {
		_ = ln.Close()
		return nil, err
	}

	if c.authn, err = c.newAuthentication(ctx); err != nil {
		_ = ln.Close()
		return nil, err
	}
	if c.Generic, err = c.genericConfig(ln, net.JoinHostPort(host, strconv.Itoa(port))); err != nil {
		_ = ln.Close()
		return nil, err
	}
	sc := storagebackend.NewDefaultConfig(etcdPrefix, nil)
	sc.Transport.ServerList = c.EtcdEndpoints
	prefixes := &storage.Prefixes{}
	c.storage = storage.RESTOptionsGetter{Config: *sc, Scheme: scheme.Scheme, Codecs: scheme.Codecs, Prefixes: prefixes,
		Uncached: []schema.GroupResource{apiextensionsv1.Resource("customresourcedefinitions")}}
	etcdClient, err := clientv3.New(clientv3.Config{Endpoints: c.EtcdEndpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("failed to connect to etcd: %w", err)
	}
	c.purger = &storage.Purger{Client: etcdClient, EtcdPrefix: etcdPrefix, Prefixes: prefixes}
	return c, nil
}

func (c *Config) genericConfig(ln net.Listener, externalAddress string) (*genericapiserver.Config, error) {
	g := genericapiserver.NewConfig(scheme.Codecs)
	g.EffectiveVersion = effectiveVersion{compatibility.DefaultBuildEffectiveVersion()}
	g.ExternalAddress = externalAddress

	serving := genericoptions.NewSecureServingOptions().WithLoopback()
	serving.Listener = ln
	serving.ServerCert.CertKey = genericoptions.CertKey{CertFile: c.pki.ServingCert, KeyFile: c.pki.ServingKey}
	if err := serving.ApplyTo(&g.SecureServing, &g.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("failed to configure serving: %w", err)
	}

	clientCA, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca", c.pki.CACert)
	if err != nil {
		return nil, fmt.Errorf("failed to load client CA: %w", err)
	}
	g.SecureServing.ClientCA = clientCA
	g.Authentication.Authenticator = c.authn.withCertificates(x509request.NewDynamic(clientCA.VerifyOptions, x509request.CommonNameUserConversion))
	g.Authentication.APIAudiences = c.Options.Authentication.APIAudiences
	c.views, c.viewWatches = &view.Exports{}, &view.Watches{}
	c.authz = authorization.NewAuthorizer(authorization.NewPolicy(c.Index), c.views)
	g.Authorization.Authorizer = c.authz
	genericapiserver.AuthorizeClientBearerToken(g.LoopbackClientConfig, &g.Authentication, &g.Authorization)

	c.admission = namespacelifecycle.New()
	c.crdGroups = crdgroup.New()
	escalation := rbacescalation.New(g.Authorization.Authorizer, c.authz.Policy())
	g.AdmissionControl = admission.NewChainHandler(c.admission, accountlifecycle.New(c.Index), c.crdGroups,
		escalation, accounttypedefaults.New(g.Authorization.Authorizer, escalation))

	namer := openapinamer.NewDefinitionNamer(scheme.Scheme)
	g.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.Definitions, namer)
	g.OpenAPIConfig.Info.Title = "Account Mesh"
	g.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.Definitions, namer)
	g.OpenAPIV3Config.Info.Title = "Account Mesh"

	c.discovery = &discovery.Discovery{}
	c.openapi = &openapi.OpenAPI{}
	g.BuildHandlerChainFunc = func(apiHandler http.Handler, gc *genericapiserver.Config) http.Handler {
		// Unknown accounts pass through authentication and authorization like existing ones, so
		// that a caller without access gets the same answer for both; only authorized callers
		// learn that an account does not exist.
		inner := filters.WithUnknownAccountNotFound(c.discovery.WrapRoot(c.openapi.Wrap(apiHandler)), scheme.Codecs)
		inner = view.WithUnboundNotFound(inner, c.views, c.viewWatches, scheme.Codecs)
		inner = authentication.WithImpersonationConfined(inner)
		chain := authentication.WithImpersonationRequested(genericapiserver.DefaultBuildHandlerChain(inner, gc), scheme.Codecs)
		return withUnauthenticatedProbes(view.WithExportView(filters.WithClusterHandler(chain, c.Index, scheme.Codecs), c.Index, scheme.Codecs), apiHandler)
	}
	return g, nil
}

// writeKubeconfig writes the admin kubeconfig pointing at the root account.
func (c *Config) writeKubeconfig() error {
	ca, err := pki.ReadPEM(c.pki.CACert)
	if err != nil {
		return err
	}
	cert, err := pki.ReadPEM(c.pki.AdminCert)
	if err != nil {
		return err
	}
	key, err := pki.ReadPEM(c.pki.AdminKey)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster.RootPath] = &clientcmdapi.Cluster{
		Server:                   c.ExternalURL + cluster.URLPrefix + cluster.RootPath,
		CertificateAuthorityData: ca,
	}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[cluster.RootPath] = &clientcmdapi.Context{Cluster: cluster.RootPath, AuthInfo: "admin"}
	cfg.CurrentContext = cluster.RootPath
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("failed to encode the admin kubeconfig: %w", err)
	}
	return pki.WriteFileAtomic(filepath.Join(c.Options.RootDir, KubeconfigFile), data, 0o600)
}

type completedConfig struct {
	*Config
	generic genericapiserver.CompletedConfig
}

// CompletedConfig is a configuration ready to build a server from.
type CompletedConfig struct {
	*completedConfig
}

// Complete fills in the derived parts of the generic configuration.
func (c *Config) Complete() CompletedConfig {
	generic := c.Generic.Complete(nil)
	// Outermost, after completion has put the loopback token in front, so that it sees the
	// loopback client too: the in-process controllers impersonate users.
	c.Generic.Authentication.Authenticator = authentication.WithImpersonator(c.Generic.Authentication.Authenticator)
	return CompletedConfig{&completedConfig{Config: c, generic: generic}}
}
