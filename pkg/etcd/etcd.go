// Package etcd runs the embedded etcd that Account Mesh uses when no external etcd is given,
// and keeps the few keys the server owns outside the API (the root account's cluster ID).
//
// It must not know about API objects.
package etcd

import (
	"context"
	"fmt"
	"net/url"
	"time"

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

// EnsureKey returns the value stored at key, storing create() there first if the key is absent.
// Concurrent callers all get the same value.
func EnsureKey(ctx context.Context, endpoints []string, key string, create func() string) (string, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second, Context: ctx})
	if err != nil {
		return "", fmt.Errorf("failed to connect to etcd %v: %w", endpoints, err)
	}
	defer func() { _ = c.Close() }()
	resp, err := c.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, create())).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return "", fmt.Errorf("failed to read or create %s in etcd: %w", key, err)
	}
	if resp.Succeeded {
		return EnsureKey(ctx, endpoints, key, create)
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return "", fmt.Errorf("key %s vanished from etcd", key)
	}
	return string(kvs[0].Value), nil
}
