package orchestration

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// resourcesTTL bounds how long a cached discovery answer is used without a change of the
// account's CRDs or bindings: a backstop for a change the account's discovery had not shown
// yet when the controller asked.
const resourcesTTL = time.Minute

// maxCachedAccounts bounds the accounts whose resources are cached; the cache is emptied when
// it is full.
const maxCachedAccounts = 100000

// resources caches, per account and group version, the resources the account's discovery
// lists, so that a reconcile does not ask discovery once per member: what an account serves
// changes only with its CRDs and APIBindings (built-ins never change), whose every change
// drops the account's answers. Failed discoveries are not cached.
type resources struct {
	discover func(ctx context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error)
	now      func() time.Time

	mu sync.Mutex
	// generation counts the invalidations of an account, so that an answer asked for before
	// one is not cached after it.
	generation map[cluster.ID]uint64
	accounts   map[cluster.ID]map[schema.GroupVersion]cachedResources
}

// cachedResources is one discovery answer.
type cachedResources struct {
	list    []metav1.APIResource
	expires time.Time
}

func newResources(discover func(ctx context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error)) *resources {
	return &resources{discover: discover, now: time.Now, generation: map[cluster.ID]uint64{}, accounts: map[cluster.ID]map[schema.GroupVersion]cachedResources{}}
}

// get returns the resources account id serves in gv, from the cache or discovery.
func (r *resources) get(ctx context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error) {
	r.mu.Lock()
	if c, ok := r.accounts[id][gv]; ok && r.now().Before(c.expires) {
		r.mu.Unlock()
		return c.list, nil
	}
	generation := r.generation[id]
	r.mu.Unlock()
	list, err := r.discover(ctx, id, gv)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.generation[id] != generation {
		return list, nil
	}
	if r.accounts[id] == nil {
		if len(r.accounts) >= maxCachedAccounts {
			r.accounts = map[cluster.ID]map[schema.GroupVersion]cachedResources{}
		}
		r.accounts[id] = map[schema.GroupVersion]cachedResources{}
	}
	r.accounts[id][gv] = cachedResources{list: list, expires: r.now().Add(resourcesTTL)}
	return list, nil
}

// invalidate drops what is cached of account id.
func (r *resources) invalidate(id cluster.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.generation[id]++
	delete(r.accounts, id)
}

// invalidator returns the event handler that drops the answers of an object's account on its
// every change: for the informers of CRDs and APIBindings.
func (r *resources) invalidator() cache.ResourceEventHandler {
	drop := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		if o, ok := obj.(metav1.Object); ok {
			r.invalidate(cluster.ID(o.GetAnnotations()[corev1alpha1.ClusterAnnotation]))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    drop,
		UpdateFunc: func(_, obj any) { drop(obj) },
		DeleteFunc: drop,
	}
}
