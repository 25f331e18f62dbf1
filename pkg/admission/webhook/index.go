package webhook

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// maxDepth bounds the walk up the tree, as the authorizer's: a path has at most this many
// segments.
const maxDepth = cluster.MaxPathLength / 2

// Tree is what the index needs of the account tree.
type Tree interface {
	Parent(id cluster.ID) (cluster.ID, bool)
}

// Index holds every account's webhook configurations, fed by wildcard informers, and tells
// which apply to a request in an account.
type Index struct {
	tree Tree

	mu         sync.RWMutex
	validating map[cluster.ID]map[string]*admissionregistrationv1.ValidatingWebhookConfiguration
	mutating   map[cluster.ID]map[string]*admissionregistrationv1.MutatingWebhookConfiguration

	// generation counts changes; what was derived from an older one is stale.
	generation atomic.Uint64
}

// NewIndex returns an empty index over tree.
func NewIndex(tree Tree) *Index {
	return &Index{
		tree:       tree,
		validating: map[cluster.ID]map[string]*admissionregistrationv1.ValidatingWebhookConfiguration{},
		mutating:   map[cluster.ID]map[string]*admissionregistrationv1.MutatingWebhookConfiguration{},
	}
}

// Generation returns the number of changes seen so far.
func (x *Index) Generation() uint64 { return x.generation.Load() }

// Inherited reports whether a configuration applies in the descendants of its account too.
func Inherited(obj metav1.Object) bool {
	return obj.GetLabels()[corev1alpha1.InheritLabel] == "true"
}

// ValidatingHandler returns the event handler that feeds the index with validating
// configurations.
func (x *Index) ValidatingHandler() cache.ResourceEventHandler {
	return handler(x, x.validating)
}

// MutatingHandler returns the event handler that feeds the index with mutating
// configurations.
func (x *Index) MutatingHandler() cache.ResourceEventHandler {
	return handler(x, x.mutating)
}

// accountOf returns the account and name of an object of a wildcard informer.
func accountOf(obj interface{}) (cluster.ID, string, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", "", false
	}
	id := m.GetAnnotations()[corev1alpha1.ClusterAnnotation]
	return cluster.ID(id), m.GetName(), id != ""
}

// handler keeps byAccount, objects of type T by account and name, in line with an informer.
func handler[T any](x *Index, byAccount map[cluster.ID]map[string]T) cache.ResourceEventHandler {
	upsert := func(obj interface{}) {
		t, ok := obj.(T)
		id, name, found := accountOf(obj)
		if !ok || !found {
			return
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		if byAccount[id] == nil {
			byAccount[id] = map[string]T{}
		}
		byAccount[id][name] = t
		x.generation.Add(1)
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    upsert,
		UpdateFunc: func(_, obj interface{}) { upsert(obj) },
		DeleteFunc: func(obj interface{}) {
			id, name, ok := accountOf(obj)
			if !ok {
				return
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			delete(byAccount[id], name)
			if len(byAccount[id]) == 0 {
				delete(byAccount, id)
			}
			x.generation.Add(1)
		},
	}
}

// Source is one configuration that applies in an account.
type Source[T metav1.Object] struct {
	// Account is where the configuration lives.
	Account cluster.ID
	// Inherited is set when Account is an ancestor.
	Inherited bool
	Object    T
}

// Effective returns the configurations that apply in account id: its own, then those labelled
// to flow down of each ancestor, nearest first, each account's by name.
func (x *Index) Effective(id cluster.ID) ([]Source[*admissionregistrationv1.ValidatingWebhookConfiguration], []Source[*admissionregistrationv1.MutatingWebhookConfiguration]) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return effective(x.tree, id, x.validating), effective(x.tree, id, x.mutating)
}

// effective walks up from id; the caller holds the read lock.
func effective[T metav1.Object](tree Tree, id cluster.ID, byAccount map[cluster.ID]map[string]T) []Source[T] {
	var out []Source[T]
	acc, inherited := id, false
	for depth := 0; depth < maxDepth; depth++ {
		byName := byAccount[acc]
		names := make([]string, 0, len(byName))
		for name, obj := range byName {
			if !inherited || Inherited(obj) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			out = append(out, Source[T]{Account: acc, Inherited: inherited, Object: byName[name]})
		}
		parent, ok := tree.Parent(acc)
		if !ok {
			break
		}
		acc, inherited = parent, true
	}
	return out
}

// uniqueName names the i-th source of a request's configurations so that names of different
// accounts never meet and the dispatcher, which orders configurations by name, calls them in
// the order of Effective: the account's own first, then its ancestors', nearest first.
func uniqueName(i int, acc cluster.ID, name string) string {
	return fmt.Sprintf("%04d.%s.%s", i, acc, name)
}
