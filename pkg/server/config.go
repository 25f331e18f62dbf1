package server

import (
	"fmt"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"net"
	"net/http"
	"path/filepath"
	"slices"

	"k8s.io/apiserver/pkg/admission"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/accountmesh/accountmesh/pkg/admission/accountlifecycle"
	"github.com/accountmesh/accountmesh/pkg/admission/accountlimits"
	"github.com/accountmesh/accountmesh/pkg/admission/accountns"
	"github.com/accountmesh/accountmesh/pkg/admission/accounttypedefaults"
	"github.com/accountmesh/accountmesh/pkg/admission/rbacescalation"
	"github.com/accountmesh/accountmesh/pkg/admission/resourcequota"
	"github.com/accountmesh/accountmesh/pkg/admission/validatingpolicy"
	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/console"
	generatedopenapi "github.com/accountmesh/accountmesh/pkg/generated/openapi"
	"github.com/accountmesh/accountmesh/pkg/pki"
	"github.com/accountmesh/accountmesh/pkg/scheme"
	"github.com/accountmesh/accountmesh/pkg/server/filters"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// rootClusterKey is the etcd key, under the prefix, holding the root account's cluster ID.
const rootClusterKey = "/accountmesh.io/root-cluster-id"

// sharedSecretsKey is the etcd key, under the prefix, holding the credentials replicas share.
const sharedSecretsKey = "/accountmesh.io/cluster-secrets"

// KubeconfigFile is the name of the admin kubeconfig in the root directory.
const KubeconfigFile = "admin.kubeconfig"

// Config is the server configuration: what Run starts and serves, derived from the options.
// Building and completing it has no effect outside the process: it starts no etcd, binds no
// listener and writes no file (Server.Run does).
type Config struct {
	Options CompletedOptions
	// PKIDir holds the CA, the serving and admin certificates and the ServiceAccount signing key.
	PKIDir string
	// EtcdDir is the data directory of the embedded etcd; unused with --etcd-servers.
	EtcdDir string
}

// NewConfig returns the configuration of the options.
func NewConfig(o CompletedOptions) *Config {
	// Before any storage exists: each metric reads its label allow list once.
	boundMetricLabels(scheme.Scheme)
	return &Config{
		Options: o,
		PKIDir:  filepath.Join(o.RootDir, "pki"),
		EtcdDir: filepath.Join(o.RootDir, "etcd"),
	}
}

type completedConfig struct {
	*Config
	// host is the host of the server's external URL.
	host string
	// certHosts are the names the serving certificate covers.
	certHosts []string
}

// CompletedConfig is a configuration ready to build a server from.
type CompletedConfig struct {
	*completedConfig
}

// Complete derives the external host (the listen host; 127.0.0.1 when that is empty or
// unspecified) and the names the serving certificate covers.
func (c *Config) Complete() CompletedConfig {
	host := c.Options.host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return CompletedConfig{&completedConfig{
		Config:    c,
		host:      host,
		certHosts: slices.Compact([]string{host, "127.0.0.1", "::1", "localhost"}),
	}}
}

// New returns the server of the configuration. It starts nothing and writes nothing: Run does.
func (c CompletedConfig) New() *Server {
	return &Server{config: *c.completedConfig}
}

// genericConfig returns the generic API server configuration: serving on ln with the
// certificates of files, authentication by a, the server's authorizer and admission plugins,
// OpenAPI, and the handler chain with the account and provider-view filters around it.
func (s *apiServer) genericConfig(ln net.Listener, externalAddress string, files pki.Files, a *authn) (*genericapiserver.Config, error) {
	g := genericapiserver.NewConfig(scheme.Codecs)
	g.EffectiveVersion = effectiveVersion{compatibility.DefaultBuildEffectiveVersion()}
	g.ExternalAddress = externalAddress
	// On SIGTERM: /readyz fails at once; after the delay the listener closes, requests in
	// flight finish and watches end cleanly (the grace period tracks them); then Run stops
	// what the API server used, etcd last.
	g.ShutdownDelayDuration = s.Options.ShutdownDelay
	g.ShutdownWatchTerminationGracePeriod = s.Options.ShutdownWatchGrace

	serving := genericoptions.NewSecureServingOptions().WithLoopback()
	serving.Listener = ln
	serving.ServerCert.CertKey = genericoptions.CertKey{CertFile: files.ServingCert, KeyFile: files.ServingKey}
	if err := serving.ApplyTo(&g.SecureServing, &g.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("failed to configure serving: %w", err)
	}

	clientCA, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca", files.CACert)
	if err != nil {
		return nil, fmt.Errorf("failed to load client CA: %w", err)
	}
	g.SecureServing.ClientCA = clientCA
	g.Authentication.Authenticator = a.withCertificates(x509request.NewDynamic(clientCA.VerifyOptions, x509request.CommonNameUserConversion))
	g.Authentication.APIAudiences = s.Options.Authentication.APIAudiences
	g.Authorization.Authorizer = s.authz
	genericapiserver.AuthorizeClientBearerToken(g.LoopbackClientConfig, &g.Authentication, &g.Authorization)
	if s.flowControlHooks, err = withFlowControl(g, s.Index.Root()); err != nil {
		return nil, err
	}

	escalation := rbacescalation.New(g.Authorization.Authorizer, s.authz.Policy())
	s.escalation = escalation
	// Admission policies come last, as upstream's: they see what the other plugins let through.
	// The clients exist once the server does, before it serves.
	core := accountns.ClientsFunc(func(c string) corev1client.CoreV1Interface { return s.clients.CoreV1(c) })
	policies := validatingpolicy.New(s.policies.index, g.Authorization.Authorizer, s.authz.Policy(), s.admission, core, s.policies.synced)
	// Webhooks come after the policies, as upstream's: mutating webhooks after every other
	// mutation, validating ones after the policies.
	webhooks := webhook.New(webhook.Config{Index: s.webhooks.index, Accounts: s.Index, Authorizer: g.Authorization.Authorizer,
		Rules: s.authz.Policy(), Namespaces: s.admission, Core: core, Egress: s.webhooks.egress, Synced: s.webhooks.synced})
	// Quotas come after everything that may refuse a request, as upstream's: a refused request
	// is not counted.
	s.quotaAdmission = resourcequota.New(core)
	g.AdmissionControl = webhook.WithReinvocation(admission.NewChainHandler(s.admission, accountlifecycle.New(s.Index), accountlimits.New(s.Index), s.crdGroups,
		escalation, accounttypedefaults.New(g.Authorization.Authorizer, escalation), policies, webhooks, s.quotaAdmission,
		// Last: only creations every other plugin admitted count against the account's objects.
		accountlimits.NewObjects(s.objects, s.Index)))

	namer := openapinamer.NewDefinitionNamer(scheme.Scheme)
	g.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.Definitions, namer)
	g.OpenAPIConfig.Info.Title = "Account Mesh"
	g.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.Definitions, namer)
	g.OpenAPIV3Config.Info.Title = "Account Mesh"

	ca, err := pki.ReadPEM(files.CACert)
	if err != nil {
		return nil, err
	}
	webOpts, err := s.consoleOptions(ca)
	if err != nil {
		return nil, err
	}
	g.BuildHandlerChainFunc = func(apiHandler http.Handler, gc *genericapiserver.Config) http.Handler {
		// Unknown accounts pass through authentication and authorization like existing ones, so
		// that a caller without access gets the same answer for both; only authorized callers
		// learn that an account does not exist.
		inner := filters.WithUnknownAccountNotFound(s.discovery.WrapRoot(s.openapi.Wrap(apiHandler)), scheme.Codecs)
		inner = view.WithUnboundNotFound(inner, s.views, s.viewWatches, scheme.Codecs)
		inner = authentication.WithImpersonationConfined(inner)
		chain := authentication.WithImpersonationRequested(genericapiserver.DefaultBuildHandlerChain(inner, gc), scheme.Codecs)
		chain = filters.WithPlatformGroups(chain, s.Index.Root(), flowcontrolv1.GroupName)
		outer := view.WithExportView(filters.WithClusterHandler(chain, s.Index, scheme.Codecs), s.Index, scheme.Codecs)
		webOpts.API = outer
		web := console.New(webOpts)
		// The web console is served outside the chain; its proxy replays the pages' API calls
		// through the whole chain as the signed-in user.
		return withUnauthenticatedProbes(web.Wrap(outer), apiHandler)
	}
	return g, nil
}

// writeKubeconfig writes the admin kubeconfig, for the root account at externalURL, to file.
func writeKubeconfig(file, externalURL string, files pki.Files) error {
	ca, err := pki.ReadPEM(files.CACert)
	if err != nil {
		return err
	}
	cert, err := pki.ReadPEM(files.AdminCert)
	if err != nil {
		return err
	}
	key, err := pki.ReadPEM(files.AdminKey)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster.RootPath] = &clientcmdapi.Cluster{
		Server:                   externalURL + cluster.URLPrefix + cluster.RootPath,
		CertificateAuthorityData: ca,
	}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[cluster.RootPath] = &clientcmdapi.Context{Cluster: cluster.RootPath, AuthInfo: "admin"}
	cfg.CurrentContext = cluster.RootPath
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("failed to encode the admin kubeconfig: %w", err)
	}
	return pki.WriteFileAtomic(file, data, 0o600)
}
