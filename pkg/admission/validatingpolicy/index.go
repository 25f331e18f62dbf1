package validatingpolicy

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// maxDepth bounds the walk up the tree, as the authorizer's: a path has at most this many
// segments.
const maxDepth = cluster.MaxPathLength / 2

// paramErrorTTL is how long the hooks of an account that failed to resolve a policy's
// paramKind are kept: the kind may be defined a moment later, and defining it changes no
// policy or binding.
const paramErrorTTL = 2 * time.Second

// Tree is what the index needs of the account tree.
type Tree interface {
	Parent(id cluster.ID) (cluster.ID, bool)
}

// ParamResolver finds the resource of a policy's paramKind in an account.
type ParamResolver interface {
	// Resolve returns the resource of gvk in account id and whether it is namespaced.
	Resolve(id cluster.ID, gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error)
	// Lister returns what reads the params of a resource in account id.
	Lister(id cluster.ID, gvr schema.GroupVersionResource, namespaced bool) cache.GenericLister
}

// Index holds every account's policies and bindings, fed by wildcard informers, and computes
// the hooks that apply to a request in an account.
type Index struct {
	tree   Tree
	params ParamResolver

	mu       sync.RWMutex
	policies map[cluster.ID]map[string]*policy
	bindings map[cluster.ID]map[string]*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	// exports are the binding names each export lists in spec.admissionPolicies, by account and
	// export name; bound tells which accounts bind which exports.
	exports map[cluster.ID]map[string][]string
	bound   Bound
	// anyExportPolicies is set while some export lists admission policies: requests elsewhere
	// skip looking up what their resource is bound from.
	anyExportPolicies atomic.Bool

	// generation counts changes of policies and bindings; cached hooks of an older one are
	// stale.
	generation atomic.Uint64
	hooks      sync.Map // cluster.ID or ExportRef -> *accountHooks
}

// policy is a stored policy and, once needed, its compiled evaluator, valid for its
// generation.
type policy struct {
	obj      *admissionregistrationv1.ValidatingAdmissionPolicy
	once     sync.Once
	compiled validating.Validator
}

// evaluator compiles the policy once; obj is the policy as the caller read it under the
// index's lock (a status update replaces p.obj with an object of the same spec).
func (p *policy) evaluator(obj *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	p.once.Do(func() { p.compiled = compile(obj) })
	return p.compiled
}

// accountHooks are the hooks of one account, computed at generation.
type accountHooks struct {
	generation uint64
	expires    time.Time
	hooks      []validating.PolicyHook
}

// NewIndex returns an empty index over tree; params resolves paramKinds.
func NewIndex(tree Tree, params ParamResolver) *Index {
	return &Index{
		tree: tree, params: params,
		policies: map[cluster.ID]map[string]*policy{},
		bindings: map[cluster.ID]map[string]*admissionregistrationv1.ValidatingAdmissionPolicyBinding{},
		exports:  map[cluster.ID]map[string][]string{},
	}
}

// accountOf returns the account an object of a wildcard informer lives in.
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

// PolicyHandler returns the event handler that feeds the index with policies.
func (x *Index) PolicyHandler() cache.ResourceEventHandler {
	return indexHandler(x, x.policies, func(byName map[string]*policy, p *admissionregistrationv1.ValidatingAdmissionPolicy) bool {
		// A status update keeps the compiled evaluator: it is the same spec.
		if old := byName[p.Name]; old != nil && old.obj.UID == p.UID && old.obj.Generation == p.Generation {
			old.obj = p
			return false
		}
		byName[p.Name] = &policy{obj: p}
		return true
	})
}

// BindingHandler returns the event handler that feeds the index with bindings.
func (x *Index) BindingHandler() cache.ResourceEventHandler {
	return indexHandler(x, x.bindings, func(byName map[string]*admissionregistrationv1.ValidatingAdmissionPolicyBinding, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
		byName[b.Name] = b
		return true
	})
}

// indexHandler returns an event handler that keeps byAccount, objects of type T by account
// and name, in line with an informer: set stores an added or updated object in its account's
// map and reports whether what applies changed. Changes bump the index's generation.
func indexHandler[T any, V any](x *Index, byAccount map[cluster.ID]map[string]V, set func(byName map[string]V, obj T) bool) cache.ResourceEventHandler {
	upsert := func(obj interface{}) {
		t, ok := obj.(T)
		id, _, found := accountOf(obj)
		if !ok || !found {
			return
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		byName := byAccount[id]
		if byName == nil {
			byName = map[string]V{}
			byAccount[id] = byName
		}
		if set(byName, t) {
			x.changed()
		}
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
			x.changed()
		},
	}
}

// changed drops the hooks computed so far, the deleted accounts' with them; a computation that
// raced with the change is stored with an older generation and not used. It is called with the
// lock held.
func (x *Index) changed() {
	x.generation.Add(1)
	x.hooks.Clear()
	found := false
	for _, byName := range x.exports {
		found = found || len(byName) > 0
	}
	x.anyExportPolicies.Store(found)
}

// Inherited reports whether a binding applies in the descendants of its account too.
func Inherited(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
	return b.Labels[corev1alpha1.InheritLabel] == "true"
}

// Effective is one binding that applies in an account, with its policy.
type Effective struct {
	// Account is where the binding and its policy live.
	Account cluster.ID
	// Inherited is set when Account is an ancestor.
	Inherited bool
	// Export is set when the binding is named by the APIExport of this name in Account, bound
	// in the account: it applies to that export's resources only.
	Export  string
	Binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	// Policy is nil when the binding's policy does not exist: the binding then does nothing.
	Policy *admissionregistrationv1.ValidatingAdmissionPolicy
}

// Effective returns the bindings that apply in account id, its own first, then those inherited
// from each ancestor, nearest first, each account's by name, then those of the exports it
// binds.
func (x *Index) Effective(id cluster.ID) []Effective {
	var out []Effective
	x.visit(id, func(acc cluster.ID, inherited bool, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, p *policy) {
		e := Effective{Account: acc, Inherited: inherited, Binding: b}
		if p != nil {
			e.Policy = p.obj
		}
		out = append(out, e)
	})
	return append(out, x.effectiveExports(id)...)
}

// visitFunc is called for each binding that applies, with the account it lives in, whether
// that is an ancestor, and its policy (nil when the policy does not exist).
type visitFunc func(acc cluster.ID, inherited bool, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, p *policy)

// visit calls fn for every binding that applies in account id, in the order of Effective,
// under the read lock.
func (x *Index) visit(id cluster.ID, fn visitFunc) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	acc, inherited := id, false
	for depth := 0; depth < maxDepth; depth++ {
		if byName := x.bindings[acc]; len(byName) > 0 {
			names := make([]string, 0, len(byName))
			for name, b := range byName {
				if !inherited || Inherited(b) {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				b := byName[name]
				fn(acc, inherited, b, x.policies[acc][b.Spec.PolicyName])
			}
		}
		parent, ok := x.tree.Parent(acc)
		if !ok {
			return
		}
		acc, inherited = parent, true
	}
}

// Hooks returns the policy hooks that apply in account id: one per policy with the bindings
// of it that apply. They are computed once per change of the index.
func (x *Index) Hooks(id cluster.ID) []validating.PolicyHook {
	return x.cachedHooks(id, func(fn visitFunc) { x.visit(id, fn) })
}

// cachedHooks returns the hooks cached under key for the current generation, or computes them
// from the bindings gather visits and caches them.
func (x *Index) cachedHooks(key any, gather func(visitFunc)) []validating.PolicyHook {
	gen := x.generation.Load()
	if v, ok := x.hooks.Load(key); ok {
		h := v.(*accountHooks)
		if h.generation == gen && (h.expires.IsZero() || time.Now().Before(h.expires)) {
			return h.hooks
		}
	}
	h := &accountHooks{generation: gen}
	type policyKey struct {
		acc  cluster.ID
		name string
	}
	at := map[policyKey]int{}
	// Under the index's lock only the bindings are gathered: compiling a policy and finding its
	// paramKind's resource (a discovery request) happen after, so no change of the index waits
	// for them.
	var sources []*policy
	gather(func(acc cluster.ID, _ bool, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, p *policy) {
		if p == nil {
			return
		}
		k := policyKey{acc, p.obj.Name}
		if i, ok := at[k]; ok {
			h.hooks[i].Bindings = append(h.hooks[i].Bindings, b)
			return
		}
		at[k] = len(h.hooks)
		h.hooks = append(h.hooks, validating.PolicyHook{Policy: p.obj, Bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{b}})
		sources = append(sources, p)
	})
	for k, i := range at {
		hook := &h.hooks[i]
		hook.Evaluator = sources[i].evaluator(hook.Policy)
		if pk := hook.Policy.Spec.ParamKind; pk != nil {
			if err := x.resolveParams(k.acc, pk, hook); err != nil {
				hook.ConfigurationError = err
				h.expires = time.Now().Add(paramErrorTTL)
			}
		}
	}
	x.hooks.Store(key, h)
	return h.hooks
}

// resolveParams sets the param source of a hook whose policy, in account acc, has paramKind pk.
func (x *Index) resolveParams(acc cluster.ID, pk *admissionregistrationv1.ParamKind, hook *validating.PolicyHook) error {
	gv, err := schema.ParseGroupVersion(pk.APIVersion)
	if err != nil {
		return fmt.Errorf("failed to parse paramKind apiVersion %q: %w", pk.APIVersion, err)
	}
	gvk := gv.WithKind(pk.Kind)
	gvr, namespaced, err := x.params.Resolve(acc, gvk)
	if err != nil {
		return fmt.Errorf("failed to find resource referenced by paramKind: '%v': %w", strings.TrimPrefix(gvk.String(), "/"), err)
	}
	hook.ParamInformer = paramInformer{lister: x.params.Lister(acc, gvr, namespaced)}
	hook.ParamScope = meta.RESTScopeRoot
	if namespaced {
		hook.ParamScope = meta.RESTScopeNamespace
	}
	return nil
}
