package dynamic

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Entry is an account's CRD as the handler sees it.
type Entry struct {
	// CRD is the object from the informer's cache; it must not be mutated.
	CRD *apiextensionsv1.CustomResourceDefinition
	// Identity is the CRD's identity hash.
	Identity string
}

// Served reports whether requests for the CRD's resources are served: its names are accepted
// (or it is established) and its conversion strategy is supported.
func (e *Entry) Served() bool {
	return Servable(e.CRD) && (apiextensionshelpers.IsCRDConditionTrue(e.CRD, apiextensionsv1.NamesAccepted) ||
		apiextensionshelpers.IsCRDConditionTrue(e.CRD, apiextensionsv1.Established))
}

// Terminating reports whether the CRD is being deleted.
func (e *Entry) Terminating() bool {
	return e.CRD.DeletionTimestamp != nil || apiextensionshelpers.IsCRDConditionTrue(e.CRD, apiextensionsv1.Terminating)
}

// identity is one CRD identity: the accounts using it and, once requested, its serving.
type identity struct {
	hash    string
	crd     *apiextensionsv1.CustomResourceDefinition
	members map[cluster.ID]struct{}
	once    sync.Once
	serving *serving
	err     error
	// built is set once serving is built, for readers outside once.
	built atomic.Pointer[serving]
}

// Index knows every account's CRDs, from a watch on CRDs across all accounts, and the
// identities they share. It is safe for concurrent use.
type Index struct {
	deps servingDeps
	// teardownTimeout bounds how long an unused identity waits for its requests in flight.
	teardownTimeout time.Duration
	// onChange is called after an account's CRD changed in the index, with the account and the
	// CRD name, e.g. to establish it.
	onChange func(id cluster.ID, name string)

	mu         sync.RWMutex
	accounts   map[cluster.ID]map[string]*Entry
	identities map[string]*identity
}

// Config is what serving custom resources needs from the server.
type Config struct {
	// Storage is the etcd configuration shared by all resources.
	Storage storagebackend.Config
	// RecordResource is called before the first object of a group/resource is stored, e.g. to
	// make account deletion purge it.
	RecordResource func(schema.GroupResource) error
	// Authorizer authorizes the creations that updates and applies imply.
	Authorizer authorizer.Authorizer
	// MaxRequestBodyBytes limits request bodies.
	MaxRequestBodyBytes int64
	// OnChange is called after an account's CRD changed in the index, with the account and the
	// CRD name, e.g. to establish it.
	OnChange func(id cluster.ID, name string)
}

// NewIndex returns an empty index. Register feeds it.
func NewIndex(c Config) *Index {
	return &Index{
		deps: servingDeps{
			raws:                &rawStorages{base: c.Storage, record: c.RecordResource},
			authorizer:          c.Authorizer,
			maxRequestBodyBytes: c.MaxRequestBodyBytes,
		},
		teardownTimeout: 2 * time.Minute,
		onChange:        c.OnChange,
		accounts:        map[cluster.ID]map[string]*Entry{},
		identities:      map[string]*identity{},
	}
}

// Lookup returns the CRD named name (<plural>.<group>) of account id.
func (x *Index) Lookup(id cluster.ID, name string) (*Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.accounts[id][name]
	return e, ok
}

// Entries returns the served CRDs of account id, sorted by name.
func (x *Index) Entries(id cluster.ID) []*Entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*Entry, 0, len(x.accounts[id]))
	for _, e := range x.accounts[id] {
		if e.Served() {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CRD.Name < out[j].CRD.Name })
	return out
}

// APISet returns a key that is equal for accounts serving the same custom resources in the
// same state, and empty for accounts without any: discovery and OpenAPI documents are built
// once per key.
func (x *Index) APISet(id cluster.ID) string {
	entries := x.Entries(id)
	if len(entries) == 0 {
		return ""
	}
	parts := make([]string, 0, len(entries))
	for _, e := range entries {
		p := e.Identity
		if e.Terminating() {
			p += "-"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ",")
}

// Identities returns the servable identities of the CRDs named name in any account, sorted.
func (x *Index) Identities(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for h, i := range x.identities {
		if i.crd.Name == name && Servable(i.crd) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// member reports whether account id's CRD name has identity hash.
func (x *Index) member(hash, name string) func(cluster.ID) bool {
	return func(id cluster.ID) bool {
		x.mu.RLock()
		defer x.mu.RUnlock()
		e, ok := x.accounts[id][name]
		return ok && e.Identity == hash
	}
}

// serving returns the serving of an identity, building it on first use.
func (x *Index) serving(hash string) (*serving, error) {
	x.mu.RLock()
	i, ok := x.identities[hash]
	x.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("identity %s is not served", hash)
	}
	i.once.Do(func() {
		i.serving, i.err = x.deps.newServing(i.crd, x.member(hash, i.crd.Name))
		if i.serving != nil {
			i.built.Store(i.serving)
		}
	})
	return i.serving, i.err
}

// Intern makes a CRD share its versions (schemas, columns: the bulk of a CRD) with the CRD its
// identity was first seen with. Informers over CRDs of many accounts use it as their transform,
// so that a thousand accounts with the same CRD hold its schemas once.
func (x *Index) Intern(obj interface{}) interface{} {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return obj
	}
	hash, err := IdentityOf(crd)
	if err != nil {
		return obj
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if i, ok := x.identities[hash]; ok && i.crd != crd {
		crd.Spec.Versions = i.crd.Spec.Versions
	}
	return crd
}

// Register feeds the index from an informer over CRDs in all accounts.
func (x *Index) Register(informer interface {
	AddEventHandler(cache.ResourceEventHandler)
}) {
	informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    x.set,
		UpdateFunc: func(_, obj interface{}) { x.set(obj) },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
				x.remove(crd)
			}
		},
	})
}

func (x *Index) set(obj interface{}) {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return
	}
	id := cluster.ID(crd.Annotations[corev1alpha1.ClusterAnnotation])
	if id == "" {
		return
	}
	hash, err := IdentityOf(crd)
	if err != nil {
		klog.Background().Error(err, "Failed to index CRD", "cluster", id, "crd", crd.Name)
		return
	}
	x.mu.Lock()
	m := x.accounts[id]
	if m == nil {
		m = map[string]*Entry{}
		x.accounts[id] = m
	}
	if old, ok := m[crd.Name]; ok && old.Identity != hash {
		x.leave(old.Identity, id)
	}
	m[crd.Name] = &Entry{CRD: crd, Identity: hash}
	i, ok := x.identities[hash]
	if !ok {
		i = &identity{hash: hash, crd: crd, members: map[cluster.ID]struct{}{}}
		x.identities[hash] = i
	}
	i.members[id] = struct{}{}
	x.mu.Unlock()
	if x.onChange != nil {
		x.onChange(id, crd.Name)
	}
}

func (x *Index) remove(crd *apiextensionsv1.CustomResourceDefinition) {
	id := cluster.ID(crd.Annotations[corev1alpha1.ClusterAnnotation])
	x.mu.Lock()
	if old, ok := x.accounts[id][crd.Name]; ok {
		delete(x.accounts[id], crd.Name)
		if len(x.accounts[id]) == 0 {
			delete(x.accounts, id)
		}
		x.leave(old.Identity, id)
	}
	x.mu.Unlock()
	if x.onChange != nil {
		x.onChange(id, crd.Name)
	}
}

// leave removes account id from an identity and tears the identity down when nobody uses it.
// x.mu must be held.
func (x *Index) leave(hash string, id cluster.ID) {
	i, ok := x.identities[hash]
	if !ok {
		return
	}
	delete(i.members, id)
	if s := i.built.Load(); s != nil {
		// The account's clients re-list against what it serves now; cross-account watches
		// saw it in their membership.
		s.watches.stop(id, cluster.Wildcard)
	}
	if len(i.members) > 0 {
		return
	}
	delete(x.identities, hash)
	// Once removed from the map, no new request can reach the identity; requests in flight
	// hold its wait group.
	go func() {
		i.once.Do(func() { i.err = fmt.Errorf("identity %s was removed", hash) })
		if i.serving != nil {
			i.serving.destroy(x.teardownTimeout)
		}
	}()
}

// identityCRD returns the CRD an identity was built from, nil if it is gone.
func (x *Index) identityCRD(hash string) *apiextensionsv1.CustomResourceDefinition {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if i, ok := x.identities[hash]; ok {
		return i.crd
	}
	return nil
}
