// Package e2e holds the end-to-end tests of the multi-account API server: one shared server per
// test binary, each test in fresh accounts, driven with the real kubectl and client-go.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/accountmesh/accountmesh/pkg/etcd"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

var (
	// server is the shared server; it stores its data in the test's own etcd.
	server *framework.Server
	// etcdClient reads that etcd directly, to check what is (not) stored.
	etcdClient *clientv3.Client
	// platformOIDC is the shared server's platform-wide OIDC issuer.
	platformOIDC *framework.OIDCProvider
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping e2e tests in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "accountmesh-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	defer framework.Cleanup()
	e, err := etcd.StartEmbedded(ctx, filepath.Join(dir, "etcd"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Close()
	etcdClient, err = clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = etcdClient.Close() }()
	authArgs, closeAuth, err := authenticationArgs(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closeAuth()
	server, err = framework.StartServer(ctx, filepath.Join(dir, "server"), append([]string{"--etcd-servers", e.Endpoint, "--admission-webhook-allow-loopback",
		// Far above what any test stores in an account, so that every account shows the
		// platform's limit (TestAccountObjectLimits).
		"--default-max-objects-per-account", strconv.Itoa(platformMaxObjects)}, authArgs...)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer server.Stop()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "server log tail:\n%s\n", server.LogTail())
	}
	return code
}
