package objectcount

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/etcd"
)

// manyAccounts knows every account named acc-<n>.
type manyAccounts struct{}

func (manyAccounts) Root() cluster.ID { return "root" }

func (manyAccounts) Lookup(id cluster.ID) (cluster.Entry, bool) {
	return cluster.Entry{ID: id}, true
}

// BenchmarkRecount measures a recount of 100,000 stored objects in 10,000 accounts (ten each,
// the size of a ConfigMap's value) in an embedded etcd: what the server pays every interval.
func BenchmarkRecount(b *testing.B) {
	const accounts, perAccount = 10000, 10
	e, err := etcd.StartEmbedded(b.Context(), b.TempDir())
	require.NoError(b, err)
	defer e.Close()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}})
	require.NoError(b, err)
	defer func() { _ = c.Close() }()
	value := string(make([]byte, 512))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := w; a < accounts; a += 16 {
				ops := make([]clientv3.Op, 0, perAccount)
				for i := 0; i < perAccount; i++ {
					ops = append(ops, clientv3.OpPut(fmt.Sprintf("/registry/core/configmaps/acc-%d/default/cm-%d", a, i), value))
				}
				if _, err := c.Txn(b.Context()).Then(ops...).Commit(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
	counter := New(c, "/registry", manyAccounts{}, 0)
	b.ResetTimer()
	for b.Loop() {
		require.NoError(b, counter.Recount(b.Context()))
	}
	b.StopTimer()
	require.Equal(b, int64(perAccount), counter.Count("acc-7"))
	b.ReportMetric(float64(accounts*perAccount)/(float64(b.Elapsed().Seconds())/float64(b.N)), "keys/s")
}
