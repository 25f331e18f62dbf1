package replicas

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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
// create to the last Ready.
//
//	go test -run '^$' -bench ReplicaThroughput -benchtime 1x ./test/replicas/
func BenchmarkReplicaThroughput(b *testing.B) {
	const n = 300
	for _, replicas := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			m := newMesh(b, replicas)
			round := 0
			for b.Loop() {
				round++
				prefix := fmt.Sprintf("r%d", round)
				start := time.Now()
				var wg sync.WaitGroup
				for r := range replicas {
					wg.Go(func() {
						createAccounts(b, m.replicas[r].ConfigFor("root"), fmt.Sprintf("%s-%d", prefix, r), n/replicas, func(int) {})
					})
				}
				wg.Wait()
				waitReady(b, m.replicas[0].ConfigFor("root"), n*round)
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "accounts/s")
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

// BenchmarkBackupRestore backs up an organisation with 100 child accounts (each with a
// ConfigMap and a Secret) and restores it under another name, reporting the time of each and
// the archive's size.
//
//	go test -run '^$' -bench BackupRestore -benchtime 1x ./test/replicas/
func BenchmarkBackupRestore(b *testing.B) {
	const n = 100
	m := newMesh(b, 1)
	s := m.replicas[0]
	org := s.NewAccount(b, "root")
	createAccounts(b, s.ConfigFor(org.Path), "a", n, func(int) {})
	waitReady(b, s.ConfigFor(org.Path), n)
	for i := range n {
		kube, err := kubernetes.NewForConfig(s.ConfigFor(fmt.Sprintf("%s:a-%d", org.Path, i)))
		require.NoError(b, err)
		_, err = kube.CoreV1().ConfigMaps("default").Create(b.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
		require.NoError(b, err)
		_, err = kube.CoreV1().Secrets("default").Create(b.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{})
		require.NoError(b, err)
	}
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
