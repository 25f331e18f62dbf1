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
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/names"
	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

// Entry is a custom resource an account serves, as the handler sees it: from a CRD of the
// account or bound from an APIExport.
type Entry struct {
	// CRD is the object from the informer's cache, or the CRD synthesized from a bound
	// APIResourceSchema; it must not be mutated.
	CRD *apiextensionsv1.CustomResourceDefinition
	// Identity is the serving identity hash.
	Identity string
	// Prefix is the storage key prefix of the objects.
	Prefix string
	// Binding is set for resources bound from an APIExport.
	Binding *BindingSource
}

// BindingSource says where a bound resource comes from.
type BindingSource struct {
	// Names are the APIBindings of the account serving the resource, sorted.
	Names []string
	// ExportID and ExportName name the APIExport.
	ExportID   cluster.ID
	ExportName string
	// IdentityHash is the export's identity hash.
	IdentityHash string
	// Deleting is set when every binding serving the resource is being deleted.
	Deleting bool
}

// Served reports whether requests for the CRD's resources are served: its names are accepted
// (or it is established) and its conversion strategy is supported.
func (e *Entry) Served() bool {
	return Servable(e.CRD) && (apiextensionshelpers.IsCRDConditionTrue(e.CRD, apiextensionsv1.NamesAccepted) ||
		apiextensionshelpers.IsCRDConditionTrue(e.CRD, apiextensionsv1.Established))
}

// Terminating reports whether the CRD, or every binding serving the resource, is being deleted.
func (e *Entry) Terminating() bool {
	if e.Binding != nil {
		return e.Binding.Deleting
	}
	return e.CRD.DeletionTimestamp != nil || apiextensionshelpers.IsCRDConditionTrue(e.CRD, apiextensionsv1.Terminating)
}

// identity is one CRD identity: the accounts using it and, once requested, its serving.
type identity struct {
	hash string
	crd  *apiextensionsv1.CustomResourceDefinition
	// prefix is the storage key prefix of the identity's objects.
	prefix  string
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

	mu sync.RWMutex
	// accounts are the entries from CRDs, bound the entries from APIBindings, by account and
	// CRD name. Where both have a name, the bound entry is served: the claims keep them
	// apart.
	accounts   map[cluster.ID]map[string]*Entry
	bound      map[cluster.ID]map[string]*Entry
	identities map[string]*identity
	// byName are the identities by CRD name.
	byName map[string]map[string]*identity
	// metadata are the schema-less identities that serve the metadata of custom resources
	// across accounts, by CRD name and export identity hash ("" for local CRDs); see
	// metadata.go.
	metadata map[string]map[string]*metadataIdentity
	// claims are the owners of each account's group/resources; the index claims again what
	// accepted CRDs and bound resources hold, e.g. after a restart.
	claims *names.Claims
	// bindings are the resources of each account's bindings, by binding name; see bound.go.
	bindings map[cluster.ID]map[string]*binding
	// waiting are the bindings waiting for a schema to be seen, by schema key.
	waiting map[string]map[string]struct{}
	// bindingStore and schemaStore are the caches of RegisterBindings' informers.
	bindingStore, schemaStore cache.Store
}

// Config is what serving custom resources needs from the server.
type Config struct {
	// Storage is the etcd configuration shared by all resources.
	Storage storagebackend.Config
	// Transformers encrypt the values of custom resources at rest, by group/resource
	// (--encryption-provider-config); nil stores them as they are.
	Transformers value.ResourceTransformers
	// RecordPrefix is called before the first object under a resource prefix is stored, e.g.
	// to make account deletion purge it.
	RecordPrefix func(prefix string) error
	// Authorizer authorizes the creations that updates and applies imply.
	Authorizer authorizer.Authorizer
	// MaxRequestBodyBytes limits request bodies.
	MaxRequestBodyBytes int64
	// OnChange is called after an account's CRD changed in the index, with the account and the
	// CRD name, e.g. to establish it.
	OnChange func(id cluster.ID, name string)
	// Claims are the owners of each account's group/resources, shared with the controllers
	// that accept names; nil means claims of the index's own.
	Claims *names.Claims
}

// NewIndex returns an empty index. Register feeds it.
func NewIndex(c Config) *Index {
	if c.Claims == nil {
		c.Claims = names.NewClaims()
	}
	return &Index{
		deps: servingDeps{
			raws:                &rawStorages{base: c.Storage, transformers: c.Transformers, record: c.RecordPrefix},
			authorizer:          c.Authorizer,
			maxRequestBodyBytes: c.MaxRequestBodyBytes,
		},
		teardownTimeout: 2 * time.Minute,
		onChange:        c.OnChange,
		accounts:        map[cluster.ID]map[string]*Entry{},
		bound:           map[cluster.ID]map[string]*Entry{},
		identities:      map[string]*identity{},
		byName:          map[string]map[string]*identity{},
		metadata:        map[string]map[string]*metadataIdentity{},
		claims:          c.Claims,
		bindings:        map[cluster.ID]map[string]*binding{},
		waiting:         map[string]map[string]struct{}{},
	}
}

// Destroy stops serving custom resources for good when the server shuts down: it ends their
// watches and closes their watch caches and etcd clients, so that nothing talks to etcd after
// the API server has drained. Requests that reach a custom resource later fail.
func (x *Index) Destroy() {
	x.deps.raws.destroyAll()
}

// Lookup returns the custom resource named name (<plural>.<group>) of account id.
func (x *Index) Lookup(id cluster.ID, name string) (*Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.lookupLocked(id, name)
}

// LookupCRD returns the entry of account id's CRD named name, ignoring bound resources.
func (x *Index) LookupCRD(id cluster.ID, name string) (*Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.accounts[id][name]
	return e, ok
}

// lookupLocked is Lookup with x.mu held.
func (x *Index) lookupLocked(id cluster.ID, name string) (*Entry, bool) {
	if e, ok := x.bound[id][name]; ok {
		return e, true
	}
	e, ok := x.accounts[id][name]
	return e, ok
}

// entries returns the served custom resources of account id, sorted by name.
func (x *Index) entries(id cluster.ID) []*Entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*Entry, 0, len(x.accounts[id])+len(x.bound[id]))
	for name, e := range x.accounts[id] {
		if _, ok := x.bound[id][name]; !ok && e.Served() {
			out = append(out, e)
		}
	}
	for _, e := range x.bound[id] {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CRD.Name < out[j].CRD.Name })
	return out
}

// APISet returns the served custom resources of account id, sorted by name, and a key that is
// equal for accounts serving the same custom resources in the same state, and empty for
// accounts without any: discovery and OpenAPI documents are built once per key. The key is
// derived from the entries returned, so a document built from them belongs to it.
func (x *Index) APISet(id cluster.ID) (string, []*Entry) {
	entries := x.entries(id)
	if len(entries) == 0 {
		return "", nil
	}
	parts := make([]string, 0, len(entries))
	for _, e := range entries {
		p := e.Identity
		if e.Terminating() {
			p += "-"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ","), entries
}

// Identities returns the servable identities of the CRDs named name in any account, sorted.
func (x *Index) Identities(name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for h, i := range x.byName[name] {
		if Servable(i.crd) {
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
		e, ok := x.lookupLocked(id, name)
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
		i.serving, i.err = x.deps.newServing(i.crd, i.prefix, x.member(hash, i.crd.Name))
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
	AddInlineEventHandler(cache.ResourceEventHandler)
}) {
	informer.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{
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
	gr := schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural}
	x.mu.Lock()
	m := x.accounts[id]
	if m == nil {
		m = map[string]*Entry{}
		x.accounts[id] = m
	}
	if old, ok := m[crd.Name]; ok && old.Identity != hash {
		x.leave(old.Identity, id)
	}
	prefix := amstorage.ResourcePrefix(gr)
	m[crd.Name] = &Entry{CRD: x.join(hash, crd, prefix, id), Identity: hash, Prefix: prefix}
	// Accepted names hold their claim: after a restart, the index learns them again here.
	if apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.NamesAccepted) && crd.Status.AcceptedNames.Plural == gr.Resource {
		x.claims.Claim(id, gr, names.Owner{Kind: names.OwnerCRD, Name: crd.Name})
	}
	x.mu.Unlock()
	if x.onChange != nil {
		x.onChange(id, crd.Name)
	}
}

// join adds account id to an identity, creating it from crd and prefix if it is new, and
// returns the identity's CRD. x.mu must be held.
func (x *Index) join(hash string, crd *apiextensionsv1.CustomResourceDefinition, prefix string, id cluster.ID) *apiextensionsv1.CustomResourceDefinition {
	i, ok := x.identities[hash]
	if !ok {
		i = x.addIdentityLocked(hash, crd, prefix)
	}
	i.members[id] = struct{}{}
	if !ok {
		x.endSiblingWildcardWatchesLocked(i)
		x.refreshMetadataLocked(crd.Name)
	}
	if crd.Annotations[corev1alpha1.ClusterAnnotation] != "" {
		// A CRD object keeps its own metadata; only synthesized CRDs are shared.
		return crd
	}
	return i.crd
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
		x.claims.Release(id, schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural}, names.Owner{Kind: names.OwnerCRD, Name: crd.Name})
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
	x.removeIdentityLocked(i)
}

// addIdentityLocked adds an identity without members. x.mu must be held.
func (x *Index) addIdentityLocked(hash string, crd *apiextensionsv1.CustomResourceDefinition, prefix string) *identity {
	i := &identity{hash: hash, crd: crd, prefix: prefix, members: map[cluster.ID]struct{}{}}
	x.identities[hash] = i
	if x.byName[crd.Name] == nil {
		x.byName[crd.Name] = map[string]*identity{}
	}
	x.byName[crd.Name][hash] = i
	return i
}

// removeIdentityLocked removes an identity and tears its serving down. x.mu must be held.
func (x *Index) removeIdentityLocked(i *identity) {
	delete(x.identities, i.hash)
	delete(x.byName[i.crd.Name], i.hash)
	if len(x.byName[i.crd.Name]) == 0 {
		delete(x.byName, i.crd.Name)
	}
	x.tearDown(i)
	x.refreshMetadataLocked(i.crd.Name)
}

// tearDown destroys the serving of an identity removed from the index, once its requests in
// flight are done: no new request can reach it.
func (x *Index) tearDown(i *identity) {
	go func() {
		i.once.Do(func() { i.err = fmt.Errorf("identity %s was removed", i.hash) })
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
