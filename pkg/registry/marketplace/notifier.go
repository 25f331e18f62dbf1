package marketplace

import (
	"sync"
)

// Notifier tells watches that something the marketplace is computed from changed: an export,
// a binding, an RBAC object or an account. Every change bumps a generation, which is the
// resourceVersion of lists.
type Notifier struct {
	mu         sync.Mutex
	generation uint64
	changed    chan struct{}
}

// NewNotifier returns a notifier at generation 1.
func NewNotifier() *Notifier {
	return &Notifier{generation: 1, changed: make(chan struct{})}
}

// Changed records a change and wakes every waiting watch.
func (n *Notifier) Changed() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.generation++
	close(n.changed)
	n.changed = make(chan struct{})
}

// current returns the generation and a channel closed at the next change.
func (n *Notifier) current() (uint64, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.generation, n.changed
}
