// Package etcd runs the embedded etcd that Account Mesh uses when no external etcd is given,
// connects the server's own clients to the etcd in use (with client TLS for an external
// cluster), and keeps the few keys the server owns outside the API (the root account's
// cluster ID).
//
// It must not know about API objects.
package etcd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Embedded is a running single-member etcd.
type Embedded struct {
	etcd *embed.Etcd
	// Endpoint is the client URL of the running etcd.
	Endpoint string
}

// StartEmbedded starts etcd with its data in dir, listening on free loopback ports.
func StartEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	cfg := embed.NewConfig()
	cfg.Name = "accountmesh"
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{loopback}
	cfg.AdvertiseClientUrls = []url.URL{loopback}
	cfg.ListenPeerUrls = []url.URL{loopback}
	cfg.AdvertisePeerUrls = []url.URL{loopback}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.QuotaBackendBytes = 8 << 30
	cfg.MaxRequestBytes = 4 << 20

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s did not become ready within 60s", dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Embedded{etcd: e, Endpoint: "http://" + e.Clients[0].Addr().String()}, nil
}

// Close stops etcd.
func (e *Embedded) Close() {
	e.etcd.Close()
}

// Client says how to reach the etcd in use.
type Client struct {
	// Endpoints are the client URLs.
	Endpoints []string
	// CAFile verifies the servers' certificates; CertFile and KeyFile are the client
	// certificate. All empty means no TLS beyond what the URLs say.
	CAFile, CertFile, KeyFile string
}

// TLS returns the client TLS configuration, nil without certificate files.
func (c Client) TLS() (*tls.Config, error) {
	if c.CAFile == "" && c.CertFile == "" && c.KeyFile == "" {
		return nil, nil
	}
	cfg, err := transport.TLSInfo{TrustedCAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile}.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the etcd client TLS files: %w", err)
	}
	return cfg, nil
}

// New connects a client; close it when done.
func (c Client) New(ctx context.Context) (*clientv3.Client, error) {
	tlsConfig, err := c.TLS()
	if err != nil {
		return nil, err
	}
	cl, err := clientv3.New(clientv3.Config{
		Endpoints: c.Endpoints, TLS: tlsConfig, DialTimeout: 10 * time.Second, Context: ctx,
		// Quiet: the server's own log says what failed.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to connect to etcd %v: %w", c.Endpoints, err)
	}
	return cl, nil
}

// EnsureKey returns the value stored at key, storing create() there first if the key is absent.
// Concurrent callers all get the same value.
func EnsureKey(ctx context.Context, kv clientv3.KV, key string, create func() string) (string, error) {
	resp, err := kv.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, create())).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return "", fmt.Errorf("failed to read or create %s in etcd: %w", key, err)
	}
	if resp.Succeeded {
		return EnsureKey(ctx, kv, key, create)
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return "", fmt.Errorf("key %s vanished from etcd", key)
	}
	return string(kvs[0].Value), nil
}
