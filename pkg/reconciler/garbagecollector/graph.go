package garbagecollector

import (
	"slices"
	"sync"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// objectKey identifies an object across accounts. UIDs are unique, but an owner reference
// only ever points into its own account, so the account is part of the key.
type objectKey struct {
	cluster string
	uid     types.UID
}

// String names the object in logs.
func (k objectKey) String() string { return k.cluster + "|" + string(k.uid) }

// identity says where an object lives and how to address it.
type identity struct {
	cluster   string
	resource  Resource
	namespace string
	name      string
	uid       types.UID
}

func (id identity) key() objectKey { return objectKey{cluster: id.cluster, uid: id.uid} }

// object is what the graph knows about an observed object. Its slices are shared and must be
// treated as read-only.
type object struct {
	identity
	owners       []metav1.OwnerReference
	finalizers   []string
	beingDeleted bool
}

// deletingDependents reports whether the object is deleted in the foreground and waits for
// its dependents.
func (o object) deletingDependents() bool {
	return o.beingDeleted && slices.Contains(o.finalizers, metav1.FinalizerDeleteDependents)
}

// orphaningDependents reports whether the object is deleted and waits for its dependents to
// be orphaned.
func (o object) orphaningDependents() bool {
	return o.beingDeleted && slices.Contains(o.finalizers, metav1.FinalizerOrphanDependents)
}

// ownerRef returns the reference through which dependent is owned by owner. A namespaced owner
// only owns dependents in its namespace.
func ownerRef(owner, dependent object) (metav1.OwnerReference, bool) {
	for _, ref := range dependent.owners {
		if ref.UID == owner.uid && refers(ref, owner, dependent.namespace) {
			return ref, true
		}
	}
	return metav1.OwnerReference{}, false
}

// refers reports whether ref, held by a dependent in dependentNamespace, names owner: same kind,
// group and name, and a namespace that a dependent there can reference. An owner observed
// without a kind (a bound resource whose schema the provider deleted) matches any kind.
func refers(ref metav1.OwnerReference, owner object, dependentNamespace string) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false
	}
	return ref.Name == owner.name && (ref.Kind == owner.resource.Kind || owner.resource.Kind == "") && gv.Group == owner.resource.GVR.Group &&
		(owner.namespace == "" || owner.namespace == dependentNamespace)
}

// node is an object in the graph. A node whose object is nil is virtual: it stands for an owner
// that is referenced but not observed (not yet, or no longer) and only holds its dependents.
type node struct {
	object     *object
	dependents sets.Set[objectKey]
}

// graph links owners to their dependents in all accounts. Its methods are safe for concurrent
// use; observe and forget return the objects whose collection the change may affect.
type graph struct {
	mu    sync.RWMutex
	nodes map[objectKey]*node
}

func newGraph() *graph {
	return &graph{nodes: map[objectKey]*node{}}
}

// observe records an added or updated object.
func (g *graph) observe(o object) []objectKey {
	g.mu.Lock()
	defer g.mu.Unlock()

	key := o.key()
	n := g.nodeFor(key)
	var oldOwners []metav1.OwnerReference
	isNew := n.object == nil
	if !isNew {
		oldOwners = n.object.owners
	}
	n.object = &o

	newUIDs := ownerUIDs(o.owners)
	for uid := range ownerUIDs(oldOwners).Difference(newUIDs) {
		g.removeDependent(objectKey{cluster: o.cluster, uid: uid}, key)
	}
	for uid := range newUIDs {
		g.nodeFor(objectKey{cluster: o.cluster, uid: uid}).dependents.Insert(key)
	}

	var affected []objectKey
	if o.deletingDependents() || o.orphaningDependents() {
		affected = append(affected, key)
	}
	if isNew || !apiequality.Semantic.DeepEqual(oldOwners, o.owners) {
		if !o.beingDeleted && g.needsOwnerCheck(o) {
			affected = append(affected, key)
		}
		// Owners waiting for their dependents recheck whether this object still blocks them.
		affected = append(affected, g.waitingOwners(o.cluster, oldOwners, o.owners)...)
	}
	return affected
}

// forget records a deleted object. A node that is still referenced as an owner stays virtual.
func (g *graph) forget(key objectKey) []objectKey {
	g.mu.Lock()
	defer g.mu.Unlock()

	n, ok := g.nodes[key]
	if !ok || n.object == nil {
		return nil
	}
	affected := g.waitingOwners(key.cluster, n.object.owners)
	for uid := range ownerUIDs(n.object.owners) {
		g.removeDependent(objectKey{cluster: key.cluster, uid: uid}, key)
	}
	n.object = nil
	affected = append(affected, n.dependents.UnsortedList()...)
	if n.dependents.Len() == 0 {
		delete(g.nodes, key)
	}
	return affected
}

// get returns an observed object.
func (g *graph) get(key objectKey) (object, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[key]
	if !ok || n.object == nil {
		return object{}, false
	}
	return *n.object, true
}

// dependents returns the observed objects that reference key as an owner.
func (g *graph) dependents(key objectKey) []object {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[key]
	if !ok {
		return nil
	}
	out := make([]object, 0, n.dependents.Len())
	for dep := range n.dependents {
		if d := g.nodes[dep]; d != nil && d.object != nil {
			out = append(out, *d.object)
		}
	}
	return out
}

// nodeFor returns the node of key, adding a virtual one if there is none.
func (g *graph) nodeFor(key objectKey) *node {
	n, ok := g.nodes[key]
	if !ok {
		n = &node{dependents: sets.New[objectKey]()}
		g.nodes[key] = n
	}
	return n
}

// removeDependent unlinks a dependent from an owner and drops the owner if it is virtual and
// nothing references it any more.
func (g *graph) removeDependent(owner, dependent objectKey) {
	n, ok := g.nodes[owner]
	if !ok {
		return
	}
	n.dependents.Delete(dependent)
	if n.object == nil && n.dependents.Len() == 0 {
		delete(g.nodes, owner)
	}
}

// needsOwnerCheck reports whether an owner of o is not observed as what o references, or
// waits for its dependents to be deleted: then o itself may have to be collected.
func (g *graph) needsOwnerCheck(o object) bool {
	for _, ref := range o.owners {
		n := g.nodes[objectKey{cluster: o.cluster, uid: ref.UID}]
		if n == nil || n.object == nil || !refers(ref, *n.object, o.namespace) || n.object.deletingDependents() {
			return true
		}
	}
	return false
}

// waitingOwners returns the observed owners, among the given references, that wait for their
// dependents to be deleted.
func (g *graph) waitingOwners(cluster string, refLists ...[]metav1.OwnerReference) []objectKey {
	uids := sets.New[types.UID]()
	for _, refs := range refLists {
		uids = uids.Union(ownerUIDs(refs))
	}
	var out []objectKey
	for uid := range uids {
		key := objectKey{cluster: cluster, uid: uid}
		if n := g.nodes[key]; n != nil && n.object != nil && n.object.deletingDependents() {
			out = append(out, key)
		}
	}
	return out
}

func ownerUIDs(refs []metav1.OwnerReference) sets.Set[types.UID] {
	uids := sets.New[types.UID]()
	for _, ref := range refs {
		uids.Insert(ref.UID)
	}
	return uids
}
