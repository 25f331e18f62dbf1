package server

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/authentication/serviceaccount"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/etcd"
	"github.com/accountmesh/accountmesh/pkg/pki"
)

// Server is Account Mesh, built from a completed configuration. Nothing runs before Run.
type Server struct {
	config completedConfig
}

// Run starts the server and serves until ctx is done. In order: it creates the root directory,
// starts the embedded etcd (unless an external one is configured), reads or creates the root
// account's cluster ID, binds the listener, loads or creates the PKI and the ServiceAccount
// signing key, assembles the API server, writes the admin kubeconfig, and serves.
func (s *Server) Run(ctx context.Context) error {
	deps, err := startDependencies(ctx, s.config)
	if err != nil {
		return err
	}
	defer deps.close()
	a, err := newAPIServer(ctx, s.config, deps)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(s.config.Options.RootDir, KubeconfigFile)
	if err := writeKubeconfig(kubeconfig, deps.externalURL, deps.pki); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Serving Account Mesh", "url", deps.externalURL+cluster.URLPrefix+cluster.RootPath,
		"kubeconfig", kubeconfig)
	return a.generic.PrepareRun().RunWithContext(ctx)
}

// dependencies are what the API server needs from outside the process. Run starts them before
// it assembles the API server and stops them when it returns.
type dependencies struct {
	// etcd is the embedded etcd; nil with an external one.
	etcd *etcd.Embedded
	// etcdEndpoints are the client URLs of the etcd in use.
	etcdEndpoints []string
	// etcdClient is the server's own etcd client, for what it keeps outside the API.
	etcdClient *clientv3.Client
	// root is the root account's cluster ID.
	root cluster.ID
	// listener is the bound HTTPS listener.
	listener net.Listener
	// externalAddress is the HOST:PORT clients use; externalURL the base URL, e.g.
	// https://127.0.0.1:6443.
	externalAddress, externalURL string
	// pki names the files of the CA, the serving and the admin certificates.
	pki pki.Files
	// caBundle is the PEM of the CA that signs the serving certificate, for clients to trust.
	caBundle []byte
	// serviceAccountKey signs ServiceAccount tokens.
	serviceAccountKey *ecdsa.PrivateKey
}

// startDependencies starts etcd, reads or creates the root account's cluster ID, binds the
// listener, and loads or creates the PKI and the ServiceAccount signing key. On error, it stops
// what it started.
func startDependencies(ctx context.Context, c completedConfig) (_ *dependencies, err error) {
	d := &dependencies{}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	o := c.Options
	if err := os.MkdirAll(o.RootDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create root directory: %w", err)
	}

	d.etcdEndpoints = o.EtcdServers
	if len(d.etcdEndpoints) == 0 {
		if d.etcd, err = etcd.StartEmbedded(ctx, c.EtcdDir); err != nil {
			return nil, err
		}
		d.etcdEndpoints = []string{d.etcd.Endpoint}
	}
	root, err := etcd.EnsureKey(ctx, d.etcdEndpoints, rootClusterKey, func() string { return string(cluster.NewID()) })
	if err != nil {
		return nil, err
	}
	d.root = cluster.ID(root)

	if d.listener, err = net.Listen("tcp", o.Listen); err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", o.Listen, err)
	}
	d.externalAddress = net.JoinHostPort(c.host, strconv.Itoa(d.listener.Addr().(*net.TCPAddr).Port))
	d.externalURL = "https://" + d.externalAddress

	if d.pki, err = pki.Ensure(c.PKIDir, c.certHosts); err != nil {
		return nil, err
	}
	if d.caBundle, err = pki.ReadPEM(d.pki.CACert); err != nil {
		return nil, err
	}
	d.caBundle = append(d.caBundle, '\n')
	if d.serviceAccountKey, err = serviceaccount.LoadOrCreateKey(filepath.Join(c.PKIDir, serviceAccountKeyFile)); err != nil {
		return nil, err
	}
	if d.etcdClient, err = clientv3.New(clientv3.Config{Endpoints: d.etcdEndpoints, DialTimeout: 10 * time.Second}); err != nil {
		return nil, fmt.Errorf("failed to connect to etcd: %w", err)
	}
	return d, nil
}

// close stops what startDependencies started. The listener is closed already when the API
// server has served on it.
func (d *dependencies) close() {
	if d.etcdClient != nil {
		_ = d.etcdClient.Close()
	}
	if d.listener != nil {
		_ = d.listener.Close()
	}
	if d.etcd != nil {
		d.etcd.Close()
	}
}
