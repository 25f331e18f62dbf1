package dynamic

import (
	"sync"

	"k8s.io/apimachinery/pkg/watch"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// watches tracks the open watches of one identity by account, so that they end when the
// account stops serving the identity (its CRD changed or went away) and clients re-list
// against what the account serves now. Upstream ends watches by destroying a CRD's storage;
// ours is shared and stays.
type watches struct {
	mu   sync.Mutex
	open map[cluster.ID]map[*trackedWatch]struct{}
}

// trackedWatch is a watch that unregisters itself when stopped.
type trackedWatch struct {
	watch.Interface
	id       cluster.ID
	registry *watches
	once     sync.Once
}

// Stop implements watch.Interface.
func (w *trackedWatch) Stop() {
	w.once.Do(func() {
		w.registry.remove(w)
		w.Interface.Stop()
	})
}

// track registers w, a watch of account id (cluster.Wildcard for cross-account watches).
func (r *watches) track(id cluster.ID, w watch.Interface) watch.Interface {
	t := &trackedWatch{Interface: w, id: id, registry: r}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		r.open = map[cluster.ID]map[*trackedWatch]struct{}{}
	}
	if r.open[id] == nil {
		r.open[id] = map[*trackedWatch]struct{}{}
	}
	r.open[id][t] = struct{}{}
	return t
}

func (r *watches) remove(w *trackedWatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.open[w.id], w)
	if len(r.open[w.id]) == 0 {
		delete(r.open, w.id)
	}
}

// stop ends the watches of the given accounts.
func (r *watches) stop(ids ...cluster.ID) {
	var stopping []*trackedWatch
	r.mu.Lock()
	for _, id := range ids {
		for w := range r.open[id] {
			stopping = append(stopping, w)
		}
	}
	r.mu.Unlock()
	for _, w := range stopping {
		w.Stop()
	}
}

// stopAll ends every watch.
func (r *watches) stopAll() {
	r.mu.Lock()
	ids := make([]cluster.ID, 0, len(r.open))
	for id := range r.open {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	r.stop(ids...)
}
