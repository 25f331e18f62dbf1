package server

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/authentication/serviceaccount"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/clustersecrets"
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
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	a, err := newAPIServer(ctx, s.config, deps, func() { stop(errLeadershipLost) })
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(s.config.Options.RootDir, KubeconfigFile)
	if err := writeKubeconfig(kubeconfig, deps.externalURL, deps.pki); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Serving Account Mesh", "url", deps.externalURL+cluster.URLPrefix+cluster.RootPath,
		"kubeconfig", kubeconfig)
	if err := a.generic.PrepareRun().RunWithContext(ctx); err != nil {
		return err
	}
	if errors.Is(context.Cause(ctx), errLeadershipLost) {
		return errLeadershipLost
	}
	return nil
}

// dependencies are what the API server needs from outside the process. Run starts them before
// it assembles the API server and stops them when it returns.
type dependencies struct {
	// embedded is the embedded etcd; nil with an external one.
	embedded *etcd.Embedded
	// etcd says how to reach the etcd in use.
	etcd etcd.Client
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
	// encryption says how resources are encrypted at rest; nil: they are not.
	encryption *encryptionconfig.EncryptionConfiguration
}

// startDependencies reads the encryption configuration, starts etcd, takes the credentials replicas share from etcd (with a
// cluster token), reads or creates the root account's cluster ID, binds the listener, and
// loads or creates the PKI and the ServiceAccount signing key. On error, it stops what it
// started.
func startDependencies(ctx context.Context, c completedConfig) (_ *dependencies, err error) {
	d := &dependencies{}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	o := c.Options
	var token []byte
	if o.ClusterTokenFile != "" {
		if token, err = clustersecrets.ReadToken(o.ClusterTokenFile); err != nil {
			return nil, err
		}
	}
	if d.encryption, err = loadEncryption(ctx, o.EncryptionProviderConfig); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.RootDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create root directory: %w", err)
	}

	d.etcd = etcd.Client{Endpoints: o.EtcdServers, CAFile: o.EtcdCAFile, CertFile: o.EtcdCertFile, KeyFile: o.EtcdKeyFile}
	if len(o.EtcdServers) == 0 {
		if d.embedded, err = etcd.StartEmbedded(ctx, c.EtcdDir); err != nil {
			return nil, err
		}
		d.etcd.Endpoints = []string{d.embedded.Endpoint}
	}
	if d.etcdClient, err = d.etcd.New(ctx); err != nil {
		return nil, err
	}
	if token != nil {
		if err := takeSharedSecrets(ctx, c, d.etcdClient, token); err != nil {
			return nil, err
		}
	}
	root, err := etcd.EnsureKey(ctx, d.etcdClient, o.EtcdPrefix+rootClusterKey, func() string { return string(cluster.NewID()) })
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
	return d, nil
}

// takeSharedSecrets makes the PKI directory hold the credentials every replica on this etcd
// shares (the CA and admin pairs and the ServiceAccount signing key), kept in etcd sealed with
// token. The first replica on an empty store puts in its own, those under its root dir if it
// has them (so that a single server becomes the first replica without changing credentials),
// new ones otherwise. Secrets the token does not open are an error, and nothing is written.
func takeSharedSecrets(ctx context.Context, c completedConfig, kv clientv3.KV, token []byte) error {
	names := pki.SharedFiles(serviceAccountKeyFile)
	secrets, created, err := clustersecrets.Ensure(ctx, kv, c.Options.EtcdPrefix+sharedSecretsKey, token, func() (clustersecrets.Secrets, error) {
		if _, err := pki.Ensure(c.PKIDir, c.certHosts); err != nil {
			return nil, err
		}
		if _, err := serviceaccount.LoadOrCreateKey(filepath.Join(c.PKIDir, serviceAccountKeyFile)); err != nil {
			return nil, err
		}
		return pki.ReadShared(c.PKIDir, names)
	})
	if err != nil {
		return err
	}
	written, err := pki.WriteShared(c.PKIDir, names, secrets)
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Using the credentials shared by the replicas", "storedByThisReplica", created, "filesUpdated", written)
	return nil
}

// close stops what startDependencies started. The listener is closed already when the API
// server has served on it. The embedded etcd stops last.
func (d *dependencies) close() {
	if d.etcdClient != nil {
		_ = d.etcdClient.Close()
	}
	if d.listener != nil {
		_ = d.listener.Close()
	}
	if d.embedded != nil {
		d.embedded.Close()
	}
}
