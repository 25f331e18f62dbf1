package objectcount

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// DefaultInterval is how often the server counts every account's objects again.
const DefaultInterval = 30 * time.Second

// defaultPageSize is how many keys one etcd range of a recount reads.
const defaultPageSize = 10000

// Tree is what the counter needs of the account index.
type Tree interface {
	Root() cluster.ID
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Types resolves an account type by name from an account, as accounts are typed from their
// parent.
type Types interface {
	Resolve(ctx context.Context, from cluster.ID, name string) (*accounttype.Type, error)
}

// Limit is an effective limit on the objects of an account, and what set it.
type Limit struct {
	Value  int64
	Source corev1alpha1.LimitSource
	// SetBy is the account whose Account object sets the limit, or where the type that sets it
	// is defined; empty for the platform's.
	SetBy cluster.ID
	// Type is the AccountType that sets it, for LimitSourceAccountType.
	Type string
}

// Counter counts the objects of every account.
type Counter struct {
	kv       clientv3.KV
	prefix   string
	tree     Tree
	types    Types
	platform int64
	pageSize int64

	mu     sync.Mutex
	counts map[cluster.ID]int64
	// since counts the creations reserved since the running recount started; nil when none
	// runs.
	since map[cluster.ID]int64
}

// New returns a counter of the objects stored in kv under etcdPrefix, for the accounts of tree;
// platform is the default limit of every account but root, 0 for none.
func New(kv clientv3.KV, etcdPrefix string, tree Tree, platform int64) *Counter {
	return &Counter{kv: kv, prefix: etcdPrefix + "/", tree: tree, platform: platform, pageSize: defaultPageSize, counts: map[cluster.ID]int64{}}
}

// SetTypes sets the resolver of account types, before the counter is used; without one, types
// set no limits.
func (c *Counter) SetTypes(types Types) { c.types = types }

// Limit returns the effective limit on the objects of account id, and false when there is
// none.
func (c *Counter) Limit(ctx context.Context, id cluster.ID) (Limit, bool) {
	root := c.tree.Root()
	if id == root || id == cluster.Wildcard {
		return Limit{}, false
	}
	var best Limit
	better := func(v int64) bool { return best.Source == "" || v < best.Value }
	if c.platform > 0 {
		best = Limit{Value: c.platform, Source: corev1alpha1.LimitSourcePlatform}
	}
	e, ok := c.tree.Lookup(id)
	if !ok {
		return best, best.Source != ""
	}
	for a, depth := e, 0; a.ID != root && depth <= cluster.MaxPathLength/2; depth++ {
		if l := a.Limits; l != nil && l.MaxObjects != nil && better(int64(*l.MaxObjects)) {
			best = Limit{Value: int64(*l.MaxObjects), Source: corev1alpha1.LimitSourceAccount, SetBy: a.ID}
		}
		if a, ok = c.tree.Lookup(a.Parent); !ok {
			break
		}
	}
	if c.types != nil && e.Type != "" && e.Parent != "" {
		t, err := c.types.Resolve(ctx, e.Parent, e.Type)
		if err != nil {
			klog.FromContext(ctx).V(4).Info("Failed to resolve an account's type for its limits", "account", id, "type", e.Type, "err", err)
		} else if t.MaxObjects != nil && better(int64(*t.MaxObjects)) {
			best = Limit{Value: int64(*t.MaxObjects), Source: corev1alpha1.LimitSourceAccountType, SetBy: t.MaxObjectsIn, Type: t.MaxObjectsType}
		}
	}
	return best, best.Source != ""
}

// Count returns the objects account id stores, as last counted plus the creations reserved
// since.
func (c *Counter) Count(id cluster.ID) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[id]
}

// Reserve counts one more object in account id unless, with enforce, that would exceed limit;
// it returns the count before and whether it counted it.
func (c *Counter) Reserve(id cluster.ID, limit Limit, enforce bool) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	used := c.counts[id]
	if enforce && limit.Source != "" && used+1 > limit.Value {
		return used, false
	}
	c.counts[id]++
	if c.since != nil {
		c.since[id]++
	}
	return used, true
}

// Run counts again every interval until ctx is done.
func (c *Counter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Recount(ctx); err != nil && ctx.Err() == nil {
				klog.FromContext(ctx).Error(err, "Failed to count the objects of accounts")
			}
		}
	}
}

// Recount counts every account's objects from etcd's keys at one revision, and updates the
// metrics.
func (c *Counter) Recount(ctx context.Context) error {
	start := time.Now()
	c.mu.Lock()
	c.since = map[cluster.ID]int64{}
	c.mu.Unlock()
	counted, err := c.scan(ctx)
	c.mu.Lock()
	if err == nil {
		for id, n := range c.since {
			counted[id] += n
		}
		c.counts = counted
	}
	c.since = nil
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.observe(ctx, counted, time.Since(start))
	return nil
}

// scan reads the keys under the prefix, in pages at the revision of the first, and counts
// those of known accounts: keys are <prefix><group>/<resource>/<cluster ID>/[<namespace>/]<name>.
func (c *Counter) scan(ctx context.Context) (map[cluster.ID]int64, error) {
	// Per account seen, its count, or nil for an account the tree does not know; looked up by
	// the key's bytes, which allocates nothing.
	seen := map[string]*int64{}
	key, end := c.prefix, clientv3.GetPrefixRangeEnd(c.prefix)
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithKeysOnly(), clientv3.WithLimit(c.pageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := c.kv.Get(ctx, key, opts...)
		if err != nil {
			return nil, fmt.Errorf("failed to read the keys of stored objects: %w", err)
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			id, ok := clusterOf(kv.Key[len(c.prefix):])
			if !ok {
				continue
			}
			n, found := seen[string(id)]
			if !found {
				if _, known := c.tree.Lookup(cluster.ID(id)); known {
					n = new(int64)
				}
				seen[string(id)] = n
			}
			if n != nil {
				*n++
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	counted := make(map[cluster.ID]int64, len(seen))
	for id, n := range seen {
		if n != nil {
			counted[cluster.ID(id)] = *n
		}
	}
	return counted, nil
}

// clusterOf returns the cluster ID of a key below the prefix: its third segment, followed by at
// least one more.
func clusterOf(key []byte) ([]byte, bool) {
	rest := key
	for range 2 {
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			return nil, false
		}
		rest = rest[i+1:]
	}
	i := bytes.IndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return nil, false
	}
	return rest[:i], true
}
