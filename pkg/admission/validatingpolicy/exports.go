package validatingpolicy

import (
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// ExportRef names an APIExport: its account and name.
type ExportRef struct {
	Account cluster.ID
	Name    string
}

// Bound tells which exports an account serves resources from.
type Bound interface {
	// BoundFrom returns the export account id serves resource gr from, if gr is bound there.
	BoundFrom(id cluster.ID, gr schema.GroupResource) (ExportRef, bool)
	// Exports returns the exports account id serves resources from, sorted.
	Exports(id cluster.ID) []ExportRef
}

// SetBound sets what tells the index which exports accounts bind; until it is set, export
// policies apply nowhere.
func (x *Index) SetBound(b Bound) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.bound = b
}

// ExportHandler returns the event handler that feeds the index with the admission policies
// that APIExports name.
func (x *Index) ExportHandler() cache.ResourceEventHandler {
	return indexHandler(x, x.exports, func(byName map[string][]string, e *apisv1alpha1.APIExport) bool {
		names := make([]string, 0, len(e.Spec.AdmissionPolicies))
		for _, p := range e.Spec.AdmissionPolicies {
			names = append(names, p.BindingName)
		}
		if slices.Equal(byName[e.Name], names) {
			return false
		}
		if len(names) == 0 {
			delete(byName, e.Name)
		} else {
			byName[e.Name] = names
		}
		return true
	})
}

// ExportHooksFor returns the hooks of the export that account id serves resource gr from,
// if any: the bindings the export names, in the export's account. They are to be evaluated
// for requests on gr only, so that a provider's policy never sees a consumer's other objects.
func (x *Index) ExportHooksFor(id cluster.ID, gr schema.GroupResource) []validating.PolicyHook {
	if !x.anyExportPolicies.Load() {
		return nil
	}
	x.mu.RLock()
	b := x.bound
	x.mu.RUnlock()
	if b == nil {
		return nil
	}
	ref, ok := b.BoundFrom(id, gr)
	if !ok {
		return nil
	}
	return x.cachedHooks(ref, func(fn visitFunc) { x.visitExport(ref, fn) })
}

// visitExport calls fn for every existing binding that export ref names, in its order, under
// the read lock.
func (x *Index) visitExport(ref ExportRef, fn visitFunc) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, name := range x.exports[ref.Account][ref.Name] {
		if b := x.bindings[ref.Account][name]; b != nil {
			fn(ref.Account, false, b, x.policies[ref.Account][b.Spec.PolicyName])
		}
	}
}

// effectiveExports returns the bindings the exports bound in account id name, each export's in
// its order, exports sorted.
func (x *Index) effectiveExports(id cluster.ID) []Effective {
	x.mu.RLock()
	b := x.bound
	x.mu.RUnlock()
	if b == nil {
		return nil
	}
	var out []Effective
	for _, ref := range b.Exports(id) {
		x.visitExport(ref, func(acc cluster.ID, _ bool, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, p *policy) {
			e := Effective{Account: acc, Export: ref.Name, Binding: b}
			if p != nil {
				e.Policy = p.obj
			}
			out = append(out, e)
		})
	}
	return out
}
