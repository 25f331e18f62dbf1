package replicas

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// usage is what a burst cost: CPU time of processes and of the machine, and etcd's disk
// syncs, read before and after it.
type usage struct {
	// cpu is the CPU time of each replica, then of this process (the etcd members).
	cpu []time.Duration
	// busy and total are the machine's non-idle and total CPU time, all cores.
	busy, total time.Duration
	// fsyncs and fsyncTime are the WAL fsyncs of every etcd member and their time; commits
	// and commitTime the backend commits.
	fsyncs, fsyncTime, commits, commitTime float64
	// requests and writes are the requests the replicas served, and of them the writes.
	requests, writes float64
}

// measure reads the usage of the replicas and of the etcd cluster now.
func measure(t testing.TB, replicas []*framework.Server) usage {
	t.Helper()
	var u usage
	for _, r := range replicas {
		u.cpu = append(u.cpu, processCPU(t, r.PID()))
	}
	u.cpu = append(u.cpu, processCPU(t, os.Getpid()))
	stat, err := os.ReadFile("/proc/stat")
	require.NoError(t, err)
	fields := strings.Fields(strings.SplitN(string(stat), "\n", 2)[0])[1:]
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 64)
		require.NoError(t, err)
		d := ticks(v)
		u.total += d
		if i != 3 && i != 4 { // idle, iowait
			u.busy += d
		}
	}
	// The members run in this process and register their metrics in its one registry: any
	// member's /metrics has the sums over all of them.
	m := etcdMetrics(t, cluster.endpoints[0])
	u.fsyncs = m["etcd_disk_wal_fsync_duration_seconds_count"]
	u.fsyncTime = m["etcd_disk_wal_fsync_duration_seconds_sum"]
	u.commits = m["etcd_disk_backend_commit_duration_seconds_count"]
	u.commitTime = m["etcd_disk_backend_commit_duration_seconds_sum"]
	for _, r := range replicas {
		c, err := rest.HTTPClientFor(r.Config)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.BaseURL+"/metrics", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		metrics := parseMetrics(t, resp.Body, func(name, labels string) string {
			if name != "apiserver_request_total" {
				return ""
			}
			for _, verb := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				if strings.Contains(labels, `verb="`+verb+`"`) {
					return "writes"
				}
			}
			return "reads"
		})
		_ = resp.Body.Close()
		u.requests += metrics["reads"] + metrics["writes"]
		u.writes += metrics["writes"]
	}
	return u
}

// report reports what happened between before and after, for n accounts created in d;
// leader is the index of the controllers' leader.
func report(b *testing.B, before, after usage, n, leader int, d time.Duration) {
	b.Helper()
	var replicas time.Duration
	for i := range len(before.cpu) - 1 {
		replicas += after.cpu[i] - before.cpu[i]
	}
	b.ReportMetric(float64((after.cpu[leader]-before.cpu[leader]).Milliseconds())/float64(n), "leader-cpu-ms/account")
	etcd := after.cpu[len(after.cpu)-1] - before.cpu[len(before.cpu)-1]
	b.ReportMetric(float64(replicas.Milliseconds())/float64(n), "replica-cpu-ms/account")
	b.ReportMetric(float64(etcd.Milliseconds())/float64(n), "etcd-cpu-ms/account")
	b.ReportMetric(100*float64(after.busy-before.busy)/float64(after.total-before.total), "machine-busy-%")
	b.ReportMetric(100*float64(replicas+etcd)/float64(after.total-before.total), "mesh-cpu-%")
	b.ReportMetric((after.requests-before.requests)/float64(n), "requests/account")
	b.ReportMetric((after.writes-before.writes)/float64(n), "writes/account")
	members := float64(len(cluster.endpoints))
	b.ReportMetric((after.fsyncs-before.fsyncs)/float64(n)/members, "fsyncs/account/member")
	if f := after.fsyncs - before.fsyncs; f > 0 {
		b.ReportMetric(1000*(after.fsyncTime-before.fsyncTime)/f, "fsync-ms")
	}
	if c := after.commits - before.commits; c > 0 {
		b.ReportMetric(1000*(after.commitTime-before.commitTime)/c, "commit-ms")
	}
	// Time spent in fsyncs, per second of the burst and member: a member whose disk is the
	// bound is near 1.
	b.ReportMetric((after.fsyncTime-before.fsyncTime)/d.Seconds()/members, "fsync-busy")
}

// ticks converts clock ticks of /proc (USER_HZ, 100 on Linux) to a duration.
func ticks(v int64) time.Duration { return time.Duration(v) * 10 * time.Millisecond }

// processCPU returns the user and system CPU time of process pid.
func processCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// The command may hold spaces: the fields after it start behind its closing parenthesis.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	require.NoError(t, err)
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	require.NoError(t, err)
	return ticks(utime + stime)
}

// etcdMetrics reads the metrics of the etcd member at endpoint, summed by name and without
// labels.
func etcdMetrics(t testing.TB, endpoint string) map[string]float64 {
	t.Helper()
	ca, err := os.ReadFile(cluster.tls.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(cluster.tls.CertFile, cluster.tls.KeyFile)
	require.NoError(t, err)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, endpoint+"/metrics", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	return parseMetrics(t, resp.Body, func(name, _ string) string { return name })
}

// parseMetrics sums the samples of Prometheus' text format read from r by the key that key
// gives a sample's name and labels; samples with an empty key are left out.
func parseMetrics(t testing.TB, r io.Reader, key func(name, labels string) string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		series := line[:i]
		name, labels, _ := strings.Cut(series, "{")
		k := key(name, labels)
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil && k != "" {
			out[k] += v
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// cpuProfile writes a CPU profile of seconds of the replica behind cfg to file, from its
// /debug/pprof endpoint (platform admins only).
func cpuProfile(ctx context.Context, cfg *rest.Config, base string, seconds int, file string) error {
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("failed to create a client: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), nil)
	if err != nil {
		return fmt.Errorf("failed to make the request: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("failed to get the profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("failed to get the profile: %s: %s", resp.Status, b)
	}
	f, err := os.Create(filepath.Clean(file))
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", file, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("failed to write %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write %s: %w", file, err)
	}
	return nil
}
