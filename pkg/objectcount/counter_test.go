package objectcount

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// tree is root ← org ← team, with limits set by the Account objects of some.
type tree map[cluster.ID]cluster.Entry

func (t tree) Root() cluster.ID { return "root" }

func (t tree) Lookup(id cluster.ID) (cluster.Entry, bool) {
	e, ok := t[id]
	return e, ok
}

func limited(n int32) *cluster.Limits { return &cluster.Limits{MaxObjects: &n} }

func testTree(org, team *cluster.Limits) tree {
	return tree{
		"root": {ID: "root", Path: "root"},
		"org":  {ID: "org", Path: "root:org", Parent: "root", Attributes: cluster.Attributes{Type: "org", Limits: org}},
		"team": {ID: "team", Path: "root:org:team", Parent: "org", Attributes: cluster.Attributes{Type: "small", Limits: team}},
	}
}

// types resolves "small" from org to a type with maxObjects.
type types struct{ maxObjects *int32 }

func (f types) Resolve(_ context.Context, from cluster.ID, name string) (*accounttype.Type, error) {
	if from != "org" || name != "small" {
		return &accounttype.Type{Name: name}, nil
	}
	return &accounttype.Type{Name: name, MaxObjects: f.maxObjects, MaxObjectsType: "small", MaxObjectsIn: "org"}, nil
}

func ptr(n int32) *int32 { return &n }

func TestLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		org, team *cluster.Limits
		typeLimit *int32
		platform  int64
		want      Limit
		ok        bool
	}{
		{name: "none"},
		{name: "platform", platform: 50, want: Limit{Value: 50, Source: corev1alpha1.LimitSourcePlatform}, ok: true},
		{name: "an ancestor's Account object", org: limited(40), platform: 50, want: Limit{Value: 40, Source: corev1alpha1.LimitSourceAccount, SetBy: "org"}, ok: true},
		{name: "the smallest along the path", org: limited(30), team: limited(40), want: Limit{Value: 30, Source: corev1alpha1.LimitSourceAccount, SetBy: "org"}, ok: true},
		{name: "the account's own", org: limited(30), team: limited(20), want: Limit{Value: 20, Source: corev1alpha1.LimitSourceAccount, SetBy: "team"}, ok: true},
		{name: "the type's, smaller", org: limited(30), typeLimit: ptr(10), platform: 50, want: Limit{Value: 10, Source: corev1alpha1.LimitSourceAccountType, SetBy: "org", Type: "small"}, ok: true},
		{name: "the type's, larger", team: limited(5), typeLimit: ptr(10), want: Limit{Value: 5, Source: corev1alpha1.LimitSourceAccount, SetBy: "team"}, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := New(nil, "/registry", testTree(tc.org, tc.team), tc.platform)
			c.SetTypes(types{tc.typeLimit})
			got, ok := c.Limit(t.Context(), "team")
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
			_, ok = c.Limit(t.Context(), "root")
			require.False(t, ok, "root has no limit")
		})
	}
}

// keys is a clientv3.KV that holds keys only and serves ranges of them in pages.
type keys struct {
	clientv3.KV
	keys []string
}

func (k keys) Get(_ context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	op := clientv3.OpGet(key, opts...)
	var kvs []*mvccpb.KeyValue
	for _, s := range k.keys {
		if s >= key && s < string(op.RangeBytes()) {
			kvs = append(kvs, &mvccpb.KeyValue{Key: []byte(s)})
		}
	}
	more := false
	if limit := int(op.Limit()); limit > 0 && len(kvs) > limit {
		kvs, more = kvs[:limit], true
	}
	return &clientv3.GetResponse{Header: &etcdserverpb.ResponseHeader{Revision: 7}, Kvs: kvs, More: more}, nil
}

// TestRecountAndReserve: a recount counts the keys of known accounts only, creations reserved
// since are added, and Reserve refuses what would exceed the limit.
func TestRecountAndReserve(t *testing.T) {
	t.Parallel()
	kv := keys{keys: []string{
		"/registry/core/configmaps/org/default/a",
		"/registry/core/configmaps/team/default/a",
		"/registry/core/configmaps/team/default/b",
		"/registry/core/namespaces/team/default",
		"/registry/example.com/widgets:hash/team/default/w",
		"/registry/core/configmaps/gone/default/a",
		"/registry/rootcluster",
		"/registryx/core/configmaps/team/default/c",
	}}
	c := New(kv, "/registry", testTree(nil, nil), 0)
	c.pageSize = 2
	require.NoError(t, c.Recount(t.Context()))
	require.Equal(t, int64(4), c.Count("team"))
	require.Equal(t, int64(1), c.Count("org"))
	require.Zero(t, c.Count("gone"), "unknown accounts are not counted")

	l := Limit{Value: 5, Source: corev1alpha1.LimitSourceAccount, SetBy: "team"}
	used, ok := c.Reserve("team", l, true)
	require.True(t, ok)
	require.Equal(t, int64(4), used)
	used, ok = c.Reserve("team", l, true)
	require.False(t, ok, "a sixth object exceeds the limit")
	require.Equal(t, int64(5), used)
	_, ok = c.Reserve("team", l, false)
	require.True(t, ok, "counted but not refused when not enforced")
	require.Equal(t, int64(6), c.Count("team"))

	require.NoError(t, c.Recount(t.Context()))
	require.Equal(t, int64(4), c.Count("team"), "a recount replaces what was reserved before it")
}
