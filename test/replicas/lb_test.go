package replicas

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// loadBalancer is a TCP load balancer in front of replicas, as an operator would put one:
// it passes TLS through, sends each new connection to the next replica whose /readyz answers
// ok (checked every 100ms), and leaves open connections alone.
type loadBalancer struct {
	ln       net.Listener
	backends []*framework.Server
	// ready says, per backend, whether its last readiness check passed.
	ready []atomic.Bool
	next  atomic.Uint64
	wg    sync.WaitGroup
}

// newLoadBalancer starts a load balancer in front of backends, which listen on fixed ports.
func newLoadBalancer(t testing.TB, backends ...*framework.Server) *loadBalancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lb := &loadBalancer{ln: ln, backends: backends, ready: make([]atomic.Bool, len(backends))}
	addrs := make([]string, len(backends))
	for i, b := range backends {
		addrs[i] = strings.TrimPrefix(b.BaseURL, "https://")
	}
	// Health checks with the admin credentials, as readiness is not public here.
	rt, err := rest.TransportFor(backends[0].Config)
	require.NoError(t, err)
	checker := &http.Client{Transport: rt, Timeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	for i := range backends {
		lb.wg.Go(func() {
			for ctx.Err() == nil {
				lb.ready[i].Store(readyz(ctx, checker, "https://"+addrs[i]))
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	lb.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go lb.proxy(conn, addrs)
		}
	})
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		lb.wg.Wait()
	})
	return lb
}

// readyz tells whether the server at base is ready.
func readyz(ctx context.Context, c *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok"
}

// proxy connects conn to the next ready backend; with none ready, it closes conn.
func (lb *loadBalancer) proxy(conn net.Conn, addrs []string) {
	defer func() { _ = conn.Close() }()
	n := uint64(len(addrs))
	start := lb.next.Add(1)
	for k := range n {
		i := (start + k) % n
		if !lb.ready[i].Load() {
			continue
		}
		backend, err := net.DialTimeout("tcp", addrs[i], time.Second)
		if err != nil {
			continue
		}
		defer func() { _ = backend.Close() }()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(backend, conn); done <- struct{}{} }()
		go func() { _, _ = io.Copy(conn, backend); done <- struct{}{} }()
		<-done
		return
	}
}

// ConfigFor returns the admin config of an account through the load balancer.
func (lb *loadBalancer) ConfigFor(pathOrID string) *rest.Config {
	cfg := lb.backends[0].ConfigFor(pathOrID)
	cfg.Host = "https://" + lb.ln.Addr().String() + "/clusters/" + pathOrID
	return cfg
}
