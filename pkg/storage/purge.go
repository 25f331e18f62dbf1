package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Prefixes is the set of resource key prefixes in use, e.g. core/configmaps.
type Prefixes struct {
	mu  sync.RWMutex
	set map[string]bool
}

func (p *Prefixes) add(prefix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil {
		p.set = map[string]bool{}
	}
	p.set[prefix] = true
}

// List returns the prefixes, sorted.
func (p *Prefixes) List() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, 0, len(p.set))
	for k := range p.set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Purger deletes everything an account holds, in every resource, straight from etcd: one range
// deletion per resource prefix. It is how a deleted account's content goes, so that nothing can
// be left behind, whatever resources the account had. Watchers see every deletion.
type Purger struct {
	// Client is the etcd client.
	Client *clientv3.Client
	// EtcdPrefix is the storage prefix in etcd, e.g. /registry.
	EtcdPrefix string
	// Prefixes are the resource prefixes to purge.
	Prefixes *Prefixes
}

// customPrefixes is where the prefixes of custom resources are recorded, below the etcd prefix.
const customPrefixes = "/accountmesh.io/custom-resource-prefixes/"

// RecordPrefix records in etcd that custom resources may be stored under a resource prefix
// (ResourcePrefix or BoundResourcePrefix), before the first of them is, so that Purge deletes
// them even after a restart in which nobody served them.
func (p *Purger) RecordPrefix(ctx context.Context, prefix string) error {
	if _, err := p.Client.Put(ctx, p.EtcdPrefix+customPrefixes+prefix, ""); err != nil {
		return fmt.Errorf("failed to record the storage prefix %s: %w", prefix, err)
	}
	p.Prefixes.add(prefix)
	return nil
}

// Purge deletes every key of account id and returns how many keys it deleted.
func (p *Purger) Purge(ctx context.Context, id cluster.ID) (int64, error) {
	if !cluster.IsValidID(string(id)) {
		return 0, fmt.Errorf("refusing to purge %q: not a cluster ID", id)
	}
	prefixes := p.Prefixes.List()
	resp, err := p.Client.Get(ctx, p.EtcdPrefix+customPrefixes, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return 0, fmt.Errorf("failed to read the custom resource prefixes: %w", err)
	}
	for _, kv := range resp.Kvs {
		prefix := strings.TrimPrefix(string(kv.Key), p.EtcdPrefix+customPrefixes)
		if !slices.Contains(prefixes, prefix) {
			prefixes = append(prefixes, prefix)
		}
	}
	var deleted int64
	for _, prefix := range prefixes {
		resp, err := p.Client.Delete(ctx, p.EtcdPrefix+"/"+prefix+"/"+string(id)+"/", clientv3.WithPrefix())
		if err != nil {
			return deleted, fmt.Errorf("failed to delete the %s of account %s: %w", prefix, id, err)
		}
		deleted += resp.Deleted
	}
	return deleted, nil
}
