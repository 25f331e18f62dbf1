package server

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Options are the flags of `accountmesh start`.
type Options struct {
	// RootDir holds the embedded etcd data, the PKI and the admin kubeconfig.
	RootDir string
	// Listen is the HOST:PORT to serve HTTPS on; port 0 picks a free port.
	Listen string
	// EtcdServers are the client URLs of an external etcd; empty means embedded etcd.
	EtcdServers []string
	// EtcdCAFile, EtcdCertFile and EtcdKeyFile are the client TLS files for an external etcd.
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// EtcdPrefix is the etcd key prefix of everything the server stores, so that several
	// meshes can share one etcd.
	EtcdPrefix string
	// EtcdCompactionInterval is how often the server compacts etcd's history, as
	// kube-apiserver does (replicas coordinate through etcd); 0 leaves compaction to the
	// operator.
	EtcdCompactionInterval time.Duration
	// EncryptionProviderConfig is an upstream EncryptionConfiguration file
	// (apiserver.config.k8s.io/v1) saying how to encrypt resources at rest; empty stores them
	// as they are.
	EncryptionProviderConfig string
	// ClusterTokenFile holds the token that seals the credentials replicas share in etcd;
	// empty means the credentials stay under the root dir only.
	ClusterTokenFile string
	// Authentication configures tokens, ServiceAccounts and OIDC.
	Authentication AuthenticationOptions
	// Console configures the web console's sign-in.
	Console ConsoleOptions
	// LeaderElection times the election of the replica that runs the controllers.
	LeaderElection LeaderElectionOptions
	// ShutdownDelay is how long /readyz reports failure on SIGTERM before the listener closes,
	// for load balancers to stop sending requests.
	ShutdownDelay time.Duration
	// ShutdownWatchGrace bounds how long shutdown waits for open watches to end: they are
	// ended cleanly once the listener closes, so that clients resume elsewhere.
	ShutdownWatchGrace time.Duration
	// DefaultMaxObjectsPerAccount is the platform's limit on the objects every account but
	// root stores; 0 sets none. Account and AccountType limits can only lower it.
	DefaultMaxObjectsPerAccount int32
	// AdmissionWebhookAllowLoopback lets tenants' admission webhooks call loopback addresses
	// (for tests and development); link-local, unspecified and multicast addresses stay
	// refused.
	AdmissionWebhookAllowLoopback bool
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{RootDir: ".accountmesh", Listen: "127.0.0.1:6443", EtcdPrefix: "/registry", EtcdCompactionInterval: 5 * time.Minute, ShutdownWatchGrace: 5 * time.Second,
		LeaderElection: LeaderElectionOptions{LeaseDuration: 10 * time.Second, RenewDeadline: 7 * time.Second, RetryPeriod: 2 * time.Second}}
}

// AddFlags binds the options to flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.RootDir, "root-dir", o.RootDir, "Directory for the embedded etcd data, certificates and admin.kubeconfig.")
	fs.StringVar(&o.Listen, "listen", o.Listen, "HOST:PORT to serve HTTPS on; port 0 picks a free port.")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "Client URLs of an external etcd cluster; empty runs an embedded etcd under --root-dir.")
	fs.StringVar(&o.EtcdCAFile, "etcd-cafile", o.EtcdCAFile, "CA file that verifies the external etcd's server certificates.")
	fs.StringVar(&o.EtcdCertFile, "etcd-certfile", o.EtcdCertFile, "Client certificate file for the external etcd.")
	fs.StringVar(&o.EtcdKeyFile, "etcd-keyfile", o.EtcdKeyFile, "Client key file for the external etcd.")
	fs.StringVar(&o.EtcdPrefix, "etcd-prefix", o.EtcdPrefix, "Prefix of every etcd key the server stores; meshes sharing one etcd need different prefixes.")
	fs.DurationVar(&o.EtcdCompactionInterval, "etcd-compaction-interval", o.EtcdCompactionInterval, "How often to compact etcd's history of old revisions, as kube-apiserver does (replicas coordinate through etcd); 0 disables it.")
	fs.StringVar(&o.EncryptionProviderConfig, "encryption-provider-config", o.EncryptionProviderConfig, "File with an EncryptionConfiguration (apiserver.config.k8s.io/v1, as kube-apiserver's) saying how resources such as Secrets are encrypted in etcd; every replica needs the same keys.")
	fs.StringVar(&o.ClusterTokenFile, "cluster-token-file", o.ClusterTokenFile, "File with the cluster token (at least 16 random bytes) shared by every replica on one etcd: the CA, admin credentials and ServiceAccount signing key are kept in etcd, sealed with a key derived from it, and taken from there.")
	fs.DurationVar(&o.LeaderElection.LeaseDuration, "leader-elect-lease-duration", o.LeaderElection.LeaseDuration, "How long after the controllers' leader last renewed its lease another replica takes over (the failover time of a replica that died).")
	fs.DurationVar(&o.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", o.LeaderElection.RenewDeadline, "How long the leader tries to renew its lease before it stops its controllers and exits; less than the lease duration.")
	fs.DurationVar(&o.LeaderElection.RetryPeriod, "leader-elect-retry-period", o.LeaderElection.RetryPeriod, "How often replicas try to acquire or renew the controllers' lease.")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay-duration", o.ShutdownDelay, "On SIGTERM, how long /readyz fails while requests are still served, before the listener closes (for load balancers in front of replicas).")
	fs.DurationVar(&o.ShutdownWatchGrace, "shutdown-watch-termination-grace-period", o.ShutdownWatchGrace, "On SIGTERM, how long to wait for open watches to end after the listener closed; watches are ended cleanly so that clients resume on another replica.")
	fs.Int32Var(&o.DefaultMaxObjectsPerAccount, "default-max-objects-per-account", o.DefaultMaxObjectsPerAccount, "How many objects, of all resources, every account but root may store; 0 sets no limit. Account.spec.limits.maxObjects and AccountType.spec.limits.maxObjects can only lower it.")
	fs.BoolVar(&o.AdmissionWebhookAllowLoopback, "admission-webhook-allow-loopback", o.AdmissionWebhookAllowLoopback, "Let admission webhooks of accounts call loopback addresses (for tests and development only: any tenant could then reach services on the server's machine).")
	o.Authentication.AddFlags(fs)
	o.Console.AddFlags(fs)
}

// LeaderElectionOptions time the election of the replica that runs the controllers.
type LeaderElectionOptions struct {
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

type completedOptions struct {
	Options
	host string
	port int
}

// CompletedOptions are options with defaults filled in and paths made absolute.
type CompletedOptions struct {
	*completedOptions
}

// Complete fills in derived values.
func (o *Options) Complete() (CompletedOptions, error) {
	c := &completedOptions{Options: *o}
	dir, err := filepath.Abs(o.RootDir)
	if err != nil {
		return CompletedOptions{}, fmt.Errorf("failed to resolve --root-dir %q: %w", o.RootDir, err)
	}
	c.RootDir = dir
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return CompletedOptions{}, fmt.Errorf("invalid --listen %q: %w", o.Listen, err)
	}
	c.host = host
	if c.port, err = strconv.Atoi(port); err != nil {
		return CompletedOptions{}, fmt.Errorf("invalid --listen port %q: %w", port, err)
	}
	var servers []string
	for _, s := range o.EtcdServers {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	c.EtcdServers = servers
	c.Authentication.complete()
	return CompletedOptions{c}, nil
}

// Validate reports invalid options.
func (o CompletedOptions) Validate() error {
	var errs []error
	if o.port < 0 || o.port > 65535 {
		errs = append(errs, fmt.Errorf("--listen port %d is out of range", o.port))
	}
	for _, s := range o.EtcdServers {
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			errs = append(errs, fmt.Errorf("--etcd-servers entry %q must be an http:// or https:// URL", s))
		}
	}
	if len(o.EtcdServers) == 0 && (o.EtcdCAFile != "" || o.EtcdCertFile != "" || o.EtcdKeyFile != "") {
		errs = append(errs, fmt.Errorf("--etcd-cafile, --etcd-certfile and --etcd-keyfile need --etcd-servers"))
	}
	if (o.EtcdCertFile == "") != (o.EtcdKeyFile == "") {
		errs = append(errs, fmt.Errorf("--etcd-certfile and --etcd-keyfile go together"))
	}
	if !strings.HasPrefix(o.EtcdPrefix, "/") || strings.HasSuffix(o.EtcdPrefix, "/") || strings.Contains(o.EtcdPrefix, "//") {
		errs = append(errs, fmt.Errorf("--etcd-prefix %q must start with / and not end with /, e.g. /registry or /mesh-a", o.EtcdPrefix))
	}
	if le := o.LeaderElection; le.RetryPeriod <= 0 || le.RenewDeadline <= le.RetryPeriod || le.LeaseDuration <= le.RenewDeadline {
		errs = append(errs, fmt.Errorf("leader election needs 0 < --leader-elect-retry-period < --leader-elect-renew-deadline < --leader-elect-lease-duration"))
	}
	if o.EtcdCompactionInterval < 0 {
		errs = append(errs, fmt.Errorf("--etcd-compaction-interval must not be negative"))
	}
	if o.ShutdownDelay < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-delay-duration must not be negative"))
	}
	if o.ShutdownWatchGrace <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-watch-termination-grace-period must be positive"))
	}
	if o.DefaultMaxObjectsPerAccount < 0 {
		errs = append(errs, fmt.Errorf("--default-max-objects-per-account must not be negative"))
	}
	errs = append(errs, o.Authentication.Validate()...)
	errs = append(errs, o.Console.Validate(o.Authentication)...)
	return errors.Join(errs...)
}
