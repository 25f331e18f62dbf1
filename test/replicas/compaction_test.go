package replicas

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestCompaction: the replicas compact etcd's history as kube-apiserver does, so a revision
// from before they started is eventually compacted away (the etcd cluster itself never
// compacts here). Not parallel: compacting the shared cluster every 2s would end the watches
// other tests resume from a revision.
func TestCompaction(t *testing.T) { //nolint:paralleltest // see above
	ctx := t.Context()
	resp, err := cluster.client.Put(ctx, "/"+framework.RandomName("compaction-"), "v")
	require.NoError(t, err)
	old := resp.Header.Revision
	m := newMesh(t, 2, "--etcd-compaction-interval=2s")
	framework.Kubectl(t, m.replicas[0].Kubeconfig, "create", "configmap", "after-start")
	framework.Eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := cluster.client.Get(ctx, "/", clientv3.WithRev(old), clientv3.WithKeysOnly(), clientv3.WithLimit(1))
		return errors.Is(err, rpctypes.ErrCompacted), nil
	}, "revision %d was not compacted", old)
}
