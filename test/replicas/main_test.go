package replicas

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/accountmesh/accountmesh/pkg/etcd"
	"github.com/accountmesh/accountmesh/pkg/pki"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// cluster is the etcd cluster the tests share; each test's mesh has its own key prefix.
var cluster *etcdCluster

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping replica tests in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "accountmesh-replicas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	defer framework.Cleanup()
	if cluster, err = startEtcdCluster(context.Background(), dir, 3); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.stop()
	return m.Run()
}

// etcdCluster is a multi-member etcd cluster on loopback whose clients must present a
// certificate of its CA.
type etcdCluster struct {
	members []*embed.Etcd
	// configs start the members, again after stopMember.
	configs []*embed.Config
	// endpoints are the members' client URLs (https).
	endpoints []string
	// tls are the client TLS files.
	tls etcd.Client
	// client is a client of the whole cluster.
	client *clientv3.Client
}

// startEtcdCluster starts n members with data under dir.
func startEtcdCluster(ctx context.Context, dir string, n int) (*etcdCluster, error) {
	files, err := pki.Ensure(filepath.Join(dir, "etcd-pki"), []string{"127.0.0.1"})
	if err != nil {
		return nil, err
	}
	c := &etcdCluster{tls: etcd.Client{CAFile: files.CACert, CertFile: files.AdminCert, KeyFile: files.AdminKey}}
	peers := make([]string, n)
	clients := make([]string, n)
	var initial []string
	for i := range n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		cp, err := freePort()
		if err != nil {
			return nil, err
		}
		peers[i] = fmt.Sprintf("http://127.0.0.1:%d", p)
		clients[i] = fmt.Sprintf("https://127.0.0.1:%d", cp)
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i]))
	}
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.Logger = "zap"
		cfg.LogLevel = "error"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		pu, _ := url.Parse(peers[i])
		cu, _ := url.Parse(clients[i])
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "accountmesh-replicas-test"
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: files.ServingCert, KeyFile: files.ServingKey, TrustedCAFile: files.CACert, ClientCertAuth: true}
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("failed to start etcd member %d: %w", i, err)
		}
		c.members = append(c.members, e)
		c.configs = append(c.configs, cfg)
	}
	for i, e := range c.members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			c.stop()
			return nil, fmt.Errorf("etcd member %d failed: %w", i, err)
		case <-time.After(time.Minute):
			c.stop()
			return nil, fmt.Errorf("etcd member %d was not ready in time", i)
		}
	}
	c.endpoints = clients
	c.tls.Endpoints = clients
	if c.client, err = c.tls.New(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// leader returns the index of the member that leads the cluster.
func (c *etcdCluster) leader() int {
	for i, e := range c.members {
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// stopMember stops member i, as the loss of its machine would.
func (c *etcdCluster) stopMember(i int) {
	c.members[i].Close()
	c.members[i] = nil
}

// startMember starts the stopped member i again on its data and waits until it is ready.
func (c *etcdCluster) startMember(i int) error {
	e, err := embed.StartEtcd(c.configs[i])
	if err != nil {
		return fmt.Errorf("failed to restart etcd member %d: %w", i, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcd member %d failed: %w", i, err)
	case <-time.After(time.Minute):
		e.Close()
		return fmt.Errorf("etcd member %d was not ready in time", i)
	}
	c.members[i] = e
	return nil
}

func (c *etcdCluster) stop() {
	if c.client != nil {
		_ = c.client.Close()
	}
	for _, e := range c.members {
		if e != nil {
			e.Close()
		}
	}
}

// args are the flags that put a replica on the cluster under prefix.
func (c *etcdCluster) args(prefix string) []string {
	return []string{
		"--etcd-servers", strings.Join(c.endpoints, ","),
		"--etcd-cafile", c.tls.CAFile, "--etcd-certfile", c.tls.CertFile, "--etcd-keyfile", c.tls.KeyFile,
		"--etcd-prefix", prefix,
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
