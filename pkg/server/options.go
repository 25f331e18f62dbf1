package server

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

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
	// Authentication configures tokens, ServiceAccounts and OIDC.
	Authentication AuthenticationOptions
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{RootDir: ".accountmesh", Listen: "127.0.0.1:6443"}
}

// AddFlags binds the options to flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.RootDir, "root-dir", o.RootDir, "Directory for the embedded etcd data, certificates and admin.kubeconfig.")
	fs.StringVar(&o.Listen, "listen", o.Listen, "HOST:PORT to serve HTTPS on; port 0 picks a free port.")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "Client URLs of an external etcd cluster; empty runs an embedded etcd under --root-dir.")
	o.Authentication.AddFlags(fs)
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
	errs = append(errs, o.Authentication.Validate()...)
	return errors.Join(errs...)
}
