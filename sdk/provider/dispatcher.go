package provider

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	amclient "github.com/accountmesh/accountmesh/pkg/client"
)

// allClusters registers a handler for the events of every account.
const allClusters multicluster.ClusterName = ""

// dispatcher is the one event handler of a shared informer. It hands each event to the
// handlers registered for the event's account and to those registered for all accounts: a map
// lookup per event, whatever the number of accounts.
type dispatcher struct {
	// list returns the objects of an account (all accounts for allClusters) currently in the
	// informer's store; new handlers get them as initial adds.
	list func(multicluster.ClusterName) []any
	// synced is done once the informer has delivered its first list.
	synced *doneChecker

	mu sync.RWMutex
	// handlers by account; slices are replaced, never changed in place, so the event path
	// reads them without holding the lock.
	handlers map[multicluster.ClusterName][]*registration
}

var _ toolscache.ResourceEventHandler = &dispatcher{}

// registration is a handler registered with a dispatcher.
type registration struct {
	cluster multicluster.ClusterName
	handler toolscache.ResourceEventHandler
	synced  *doneChecker
}

var _ toolscache.ResourceEventHandlerRegistration = &registration{}

// HasSynced reports whether the informer has synced; the objects already in the store were
// replayed to the handler when it was added.
func (r *registration) HasSynced() bool { return r.synced.isDone() }

// HasSyncedChecker returns the informer's sync checker.
func (r *registration) HasSyncedChecker() toolscache.DoneChecker { return r.synced }

func newDispatcher(list func(multicluster.ClusterName) []any, synced *doneChecker) *dispatcher {
	return &dispatcher{list: list, synced: synced, handlers: map[multicluster.ClusterName][]*registration{}}
}

// add registers h for the events of account c (allClusters: every account) and first calls
// h.OnAdd for each object of c already in the store. The replay runs under the lock, so an
// event races with it only by reaching h twice (replayed and delivered), never not at all.
func (d *dispatcher) add(c multicluster.ClusterName, h toolscache.ResourceEventHandler) *registration {
	r := &registration{cluster: c, handler: h, synced: d.synced}
	d.mu.Lock()
	defer d.mu.Unlock()
	initial := !d.synced.isDone()
	for _, obj := range d.list(c) {
		h.OnAdd(obj, initial)
	}
	d.handlers[c] = append(slices.Clip(d.handlers[c]), r)
	return r
}

// remove unregisters r; removing twice is harmless.
func (d *dispatcher) remove(r *registration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hs := slices.DeleteFunc(slices.Clone(d.handlers[r.cluster]), func(x *registration) bool { return x == r })
	if len(hs) == 0 {
		delete(d.handlers, r.cluster)
		return
	}
	d.handlers[r.cluster] = hs
}

// removeCluster unregisters every handler of account c.
func (d *dispatcher) removeCluster(c multicluster.ClusterName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.handlers, c)
}

// len returns the number of registered handlers.
func (d *dispatcher) len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := 0
	for _, hs := range d.handlers {
		n += len(hs)
	}
	return n
}

func (d *dispatcher) targets(obj any) ([]*registration, []*registration) {
	c := clusterOf(obj)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if c == allClusters {
		return d.handlers[allClusters], nil
	}
	return d.handlers[c], d.handlers[allClusters]
}

// OnAdd implements toolscache.ResourceEventHandler.
func (d *dispatcher) OnAdd(obj any, isInInitialList bool) {
	scoped, all := d.targets(obj)
	for _, r := range scoped {
		r.handler.OnAdd(obj, isInInitialList)
	}
	for _, r := range all {
		r.handler.OnAdd(obj, isInInitialList)
	}
}

// OnUpdate implements toolscache.ResourceEventHandler. Old and new object have the same key,
// hence the same account.
func (d *dispatcher) OnUpdate(oldObj, newObj any) {
	scoped, all := d.targets(newObj)
	for _, r := range scoped {
		r.handler.OnUpdate(oldObj, newObj)
	}
	for _, r := range all {
		r.handler.OnUpdate(oldObj, newObj)
	}
}

// OnDelete implements toolscache.ResourceEventHandler.
func (d *dispatcher) OnDelete(obj any) {
	scoped, all := d.targets(obj)
	for _, r := range scoped {
		r.handler.OnDelete(obj)
	}
	for _, r := range all {
		r.handler.OnDelete(obj)
	}
}

// clusterOf returns the account of an object seen through the wildcard, or allClusters if the
// object carries none (then only handlers of all accounts see it).
func clusterOf(obj any) multicluster.ClusterName {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		id, _, _, err := amclient.SplitClusterKey(d.Key)
		if err != nil {
			return allClusters
		}
		return multicluster.ClusterName(id)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return allClusters
	}
	return multicluster.ClusterName(m.GetAnnotations()[corev1alpha1.ClusterAnnotation])
}

// doneChecker is a toolscache.DoneChecker closed once.
type doneChecker struct {
	name string
	once sync.Once
	ch   chan struct{}
}

func newDoneChecker(name string) *doneChecker {
	return &doneChecker{name: name, ch: make(chan struct{})}
}

// Name implements toolscache.DoneChecker.
func (c *doneChecker) Name() string { return c.name }

// Done implements toolscache.DoneChecker.
func (c *doneChecker) Done() <-chan struct{} { return c.ch }

func (c *doneChecker) done() { c.once.Do(func() { close(c.ch) }) }

func (c *doneChecker) isDone() bool {
	select {
	case <-c.ch:
		return true
	default:
		return false
	}
}
