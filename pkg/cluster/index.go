package cluster

import (
	"strings"
	"sync"
	"time"
)

// Entry describes one account in the Index.
type Entry struct {
	// ID is the account's cluster ID.
	ID ID
	// Path is the account's path, e.g. root:acme:team-a.
	Path string
	// Parent is the parent's cluster ID; empty for root.
	Parent ID
	Attributes
}

// Attributes are what the index keeps about an account besides its place in the tree.
type Attributes struct {
	// Type is the account's type.
	Type string
	// Phase is the account's phase (status.phase of its Account object).
	Phase string
	// Owner is the account's owner.
	Owner string
	// Created is when the account was created.
	Created time.Time
	// Deleting is set once the account's deletion has started.
	Deleting bool
	// Shadow is set for shadow accounts: whom the account serves.
	Shadow *Shadow

	// Limits are what the account's Account object sets on the tree below it; nil for none.
	Limits *Limits
}

// Shadow is what the index keeps about a shadow account.
type Shadow struct {
	// ConsumerOrg is the consumer organisation's cluster ID.
	ConsumerOrg ID
	// Exports are the names of the parent account's exports the organisation binds.
	Exports []string
	// Plans are the plans the organisation's bindings are on, as export=plan.
	Plans []string
}

// Limits bound the accounts below an account, and the objects each of them and the account
// itself store; a nil field sets no limit.
type Limits struct {
	MaxChildAccounts, MaxSubtreeAccounts, MaxObjects *int32
}

// Limit is a limit on the accounts below an account, and the account that set it.
type Limit struct {
	Value int32
	SetBy ID
}

type node struct {
	parent ID
	name   string
	Attributes
}

// Index maps account paths to cluster IDs and back. It is fed by a watch on Account objects
// (see Informer) and read on every request, so reads take a read lock and walk at most one map
// lookup per path segment.
type Index struct {
	mu       sync.RWMutex
	root     ID
	nodes    map[ID]node
	children map[ID]map[string]ID
}

// NewIndex returns an index that knows only the root account.
func NewIndex(root ID) *Index {
	return &Index{
		root:     root,
		nodes:    map[ID]node{},
		children: map[ID]map[string]ID{},
	}
}

// Root returns the cluster ID of the root account.
func (i *Index) Root() ID {
	return i.root
}

// Set records that the account name in cluster parent has the cluster ID id.
func (i *Index) Set(parent ID, name string, id ID, attrs Attributes) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if old, ok := i.nodes[id]; ok && (old.parent != parent || old.name != name) {
		i.deleteLocked(id)
	}
	i.nodes[id] = node{parent: parent, name: name, Attributes: attrs}
	kids := i.children[parent]
	if kids == nil {
		kids = map[string]ID{}
		i.children[parent] = kids
	}
	kids[name] = id
}

// Delete forgets the account id.
func (i *Index) Delete(id ID) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.deleteLocked(id)
}

func (i *Index) deleteLocked(id ID) {
	n, ok := i.nodes[id]
	if !ok {
		return
	}
	delete(i.nodes, id)
	if kids := i.children[n.parent]; kids != nil && kids[n.name] == id {
		delete(kids, n.name)
		if len(kids) == 0 {
			delete(i.children, n.parent)
		}
	}
}

// Resolve returns the cluster ID of an account given its path or its cluster ID.
func (i *Index) Resolve(pathOrID string) (ID, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if pathOrID == RootPath || pathOrID == string(i.root) {
		return i.root, true
	}
	if !strings.Contains(pathOrID, PathSeparator) {
		id := ID(pathOrID)
		if _, ok := i.nodes[id]; ok && i.pathLocked(id) != "" {
			return id, true
		}
		return "", false
	}
	parts := strings.Split(pathOrID, PathSeparator)
	if parts[0] != RootPath {
		return "", false
	}
	id := i.root
	for _, name := range parts[1:] {
		next, ok := i.children[id][name]
		if !ok {
			return "", false
		}
		id = next
	}
	return id, true
}

// Lookup returns the entry of a cluster ID, and false if the account is unknown or not
// connected to root (its parent is not indexed yet).
func (i *Index) Lookup(id ID) (Entry, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if id == i.root {
		return Entry{ID: id, Path: RootPath, Attributes: Attributes{Type: RootPath, Phase: RootPhase}}, true
	}
	p := i.pathLocked(id)
	if p == "" {
		return Entry{}, false
	}
	n := i.nodes[id]
	return Entry{ID: id, Path: p, Parent: n.parent, Attributes: n.Attributes}, true
}

// pathLocked walks up to root; it returns "" when the chain is broken.
func (i *Index) pathLocked(id ID) string {
	var names []string
	for id != i.root {
		n, ok := i.nodes[id]
		if !ok || len(names) > MaxPathLength {
			return ""
		}
		names = append(names, n.name)
		id = n.parent
	}
	var b strings.Builder
	b.WriteString(RootPath)
	for j := len(names) - 1; j >= 0; j-- {
		b.WriteString(PathSeparator)
		b.WriteString(names[j])
	}
	return b.String()
}

// HasChildren reports whether account id has indexed child accounts.
func (i *Index) HasChildren(id ID) bool {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return len(i.children[id]) > 0
}

// Len returns the number of indexed accounts, root excluded.
func (i *Index) Len() int {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return len(i.nodes)
}

// Parent returns the cluster ID of the parent of account id, and false for root and for
// accounts the index does not know. It does not allocate: authorization calls it on every
// request, once per ancestor.
func (i *Index) Parent(id ID) (ID, bool) {
	if id == i.root {
		return "", false
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	n, ok := i.nodes[id]
	if !ok {
		return "", false
	}
	return n.parent, true
}

// Usage counts the accounts below id: its children and its whole subtree. It walks the
// subtree.
func (i *Index) Usage(id ID) (children, subtree int) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	children = len(i.children[id])
	stack := []ID{id}
	for len(stack) > 0 && subtree <= MaxAccountsCounted {
		next := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, kid := range i.children[next] {
			subtree++
			stack = append(stack, kid)
		}
	}
	return children, subtree
}

// MaxAccountsCounted bounds the walk of Usage: limits above it are not enforced exactly.
const MaxAccountsCounted = 1 << 20

// Limits returns the effective limits of account id: the smallest maxChildAccounts set on it
// or an ancestor, and every maxSubtreeAccounts set on it or an ancestor (each bounds that
// account's subtree), nearest first. A zero Limit.SetBy means none.
func (i *Index) Limits(id ID) (maxChild Limit, maxSubtree []Limit) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	for depth := 0; id != i.root && depth <= MaxPathLength/2; depth++ {
		n, ok := i.nodes[id]
		if !ok {
			break
		}
		if l := n.Limits; l != nil {
			if v := l.MaxChildAccounts; v != nil && (maxChild.SetBy == "" || *v < maxChild.Value) {
				maxChild = Limit{Value: *v, SetBy: id}
			}
			if v := l.MaxSubtreeAccounts; v != nil {
				maxSubtree = append(maxSubtree, Limit{Value: *v, SetBy: id})
			}
		}
		id = n.parent
	}
	return maxChild, maxSubtree
}

// Children returns the cluster IDs of the indexed child accounts of id, in no order.
func (i *Index) Children(id ID) []ID {
	i.mu.RLock()
	defer i.mu.RUnlock()
	kids := make([]ID, 0, len(i.children[id]))
	for _, kid := range i.children[id] {
		kids = append(kids, kid)
	}
	return kids
}
