package replicas

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/pkg/backup"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// BenchmarkReplicaThroughput creates 300 accounts per iteration, spread over 1, 2 and 3
// replicas on the same etcd cluster (in the same run), and reports accounts/s from the first
// create to the last Ready, with what the burst cost: CPU time per account of the replicas,
// of the controllers' leader and of the etcd members (this process), how busy the machine
// and the mesh kept its cores, and etcd's WAL fsyncs (count per account, mean time, and the
// share of the burst each member spent in them). With ACCOUNTMESH_PROFILE_DIR set, it also
// writes a CPU profile of every replica over the first seconds of each burst
// (replicas=<n>-<i>[-leader].pprof).
//
//	go test -run '^$' -bench ReplicaThroughput -benchtime 1x ./test/replicas/
func BenchmarkReplicaThroughput(b *testing.B) {
	const n = 300
	profiles := os.Getenv("ACCOUNTMESH_PROFILE_DIR")
	for _, replicas := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			m := newMesh(b, replicas)
			l := leader(b, m, -1)
			round := 0
			for b.Loop() {
				round++
				prefix := fmt.Sprintf("r%d", round)
				var profiling sync.WaitGroup
				if profiles != "" {
					for r, s := range m.replicas {
						file := filepath.Join(profiles, fmt.Sprintf("replicas=%d-%d.pprof", replicas, r))
						if r == l {
							file = strings.TrimSuffix(file, ".pprof") + "-leader.pprof"
						}
						profiling.Go(func() { assert.NoError(b, cpuProfile(b.Context(), s.Config, s.BaseURL, 6, file)) })
					}
				}
				before := measure(b, m.replicas)
				start := time.Now()
				var wg sync.WaitGroup
				for r := range replicas {
					wg.Go(func() {
						createAccounts(b, m.replicas[r].ConfigFor("root"), fmt.Sprintf("%s-%d", prefix, r), n/replicas, func(int) {})
					})
				}
				wg.Wait()
				waitReady(b, m.replicas[0].ConfigFor("root"), n*round)
				d := time.Since(start)
				b.ReportMetric(float64(n)/d.Seconds(), "accounts/s")
				report(b, before, measure(b, m.replicas), n, l, d)
				profiling.Wait()
			}
		})
	}
}

// BenchmarkLeaderFailover kills the controllers' leader (kill -9) with the default election
// times and reports the time until an account created right after is Ready through the
// other replica (ns/op includes starting the replicas).
func BenchmarkLeaderFailover(b *testing.B) {
	for b.Loop() {
		m := newMesh(b, 2)
		l := leader(b, m, -1)
		start := time.Now()
		m.replicas[l].Kill()
		survivor := m.replicas[1-l]
		createAccounts(b, survivor.ConfigFor("root"), "after-failover", 1, func(int) {})
		waitReady(b, survivor.ConfigFor("root"), 1)
		b.ReportMetric(time.Since(start).Seconds(), "s-to-ready")
	}
}

// waitReady waits until n accounts in root through cfg are Ready.
func waitReady(b *testing.B, cfg *rest.Config, n int) {
	b.Helper()
	d, err := dynamic.NewForConfig(cfg)
	require.NoError(b, err)
	err = wait.PollUntilContextTimeout(b.Context(), 50*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := d.Resource(framework.AccountsGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, a := range list.Items {
			if phase, _, _ := unstructured.NestedString(a.Object, "status", "phase"); phase == "Ready" {
				ready++
			}
		}
		return ready >= n, nil
	})
	require.NoError(b, err)
}

// BenchmarkEtcdPerAccount creates 300 accounts through one replica and reports what each adds
// to etcd: live keys and bytes (keys and values, as the server stores them), the limit of one
// etcd cluster being its database size (8 GiB by default recommended, 2 GiB default quota).
//
//	go test -run '^$' -bench EtcdPerAccount -benchtime 1x ./test/replicas/
func BenchmarkEtcdPerAccount(b *testing.B) {
	const n = 300
	m := newMesh(b, 1)
	size := func() (keys, bytes int) {
		resp, err := cluster.client.Get(b.Context(), m.prefix+"/", clientv3.WithPrefix())
		require.NoError(b, err)
		for _, kv := range resp.Kvs {
			keys++
			bytes += len(kv.Key) + len(kv.Value)
		}
		return keys, bytes
	}
	round := 0
	for b.Loop() {
		round++
		keys0, bytes0 := size()
		createAccounts(b, m.replicas[0].ConfigFor("root"), fmt.Sprintf("e%d", round), n, func(int) {})
		waitReady(b, m.replicas[0].ConfigFor("root"), n*round)
		// Let the controllers finish each account's namespace defaults.
		time.Sleep(5 * time.Second)
		keys1, bytes1 := size()
		b.ReportMetric(float64(keys1-keys0)/n, "keys/account")
		b.ReportMetric(float64(bytes1-bytes0)/n, "bytes/account")
	}
}

// BenchmarkBackupRestore backs up an organisation with 1,000 child accounts (each with a
// ConfigMap and a Secret) and restores it under another name, reporting the time of each and
// the archive's size.
//
//	go test -run '^$' -bench BackupRestore -benchtime 1x ./test/replicas/
func BenchmarkBackupRestore(b *testing.B) {
	const n = 1000
	m := newMesh(b, 1)
	s := m.replicas[0]
	org := s.NewAccount(b, "root")
	createAccounts(b, s.ConfigFor(org.Path), "a", n, func(int) {})
	waitReady(b, s.ConfigFor(org.Path), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				cfg := s.ConfigFor(fmt.Sprintf("%s:a-%d", org.Path, i))
				cfg.QPS, cfg.Burst = -1, 0
				kube, err := kubernetes.NewForConfig(cfg)
				assert.NoError(b, err)
				_, err = kube.CoreV1().ConfigMaps("default").Create(b.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
				assert.NoError(b, err)
				_, err = kube.CoreV1().Secrets("default").Create(b.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{})
				assert.NoError(b, err)
			}
		})
	}
	wg.Wait()
	require.False(b, b.Failed())
	for b.Loop() {
		var buf bytes.Buffer
		start := time.Now()
		_, err := backup.Write(b.Context(), s.ConfigFor("root"), org.Path, &buf)
		require.NoError(b, err)
		b.ReportMetric(time.Since(start).Seconds(), "s-backup")
		b.ReportMetric(float64(buf.Len())/1024, "KiB")
		start = time.Now()
		_, err = backup.Restore(b.Context(), s.ConfigFor("root"), &buf, "root", framework.RandomName("copy-"))
		require.NoError(b, err)
		b.ReportMetric(time.Since(start).Seconds(), "s-restore")
	}
}
