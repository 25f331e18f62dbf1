package server

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/admission/validatingpolicy"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/dynamic"
)

// admissionPolicies are the informers of every account's ValidatingAdmissionPolicies and
// bindings, the index the admission plugin reads, and the param source it reads through.
type admissionPolicies struct {
	index    *validatingpolicy.Index
	params   *validatingpolicy.Params
	policies *client.SharedInformer
	bindings *client.SharedInformer
}

// newAdmissionPolicies returns the index over the account tree; its informers are set by
// watchAdmissionPolicies once clients exist.
func newAdmissionPolicies(tree validatingpolicy.Tree) *admissionPolicies {
	params := &validatingpolicy.Params{}
	return &admissionPolicies{index: validatingpolicy.NewIndex(tree, params), params: params}
}

// synced reports whether both informers have their first lists.
func (p *admissionPolicies) synced() bool {
	return p.policies != nil && p.bindings != nil && p.policies.HasSynced() && p.bindings.HasSynced()
}

// watchAdmissionPolicies creates the wildcard informers that feed the policy index and a
// post-start hook that runs them; the server is not ready before they have synced.
func (s *apiServer) watchAdmissionPolicies() error {
	p := s.policies
	p.params.Clients = s.clients
	var err error
	gv := admissionregistrationv1.SchemeGroupVersion
	if p.policies, err = s.wildcardInformer(gv, "validatingadmissionpolicies", &admissionregistrationv1.ValidatingAdmissionPolicy{}, p.index.PolicyHandler()); err != nil {
		return err
	}
	if p.bindings, err = s.wildcardInformer(gv, "validatingadmissionpolicybindings", &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, p.index.BindingHandler()); err != nil {
		return err
	}
	s.runBeforeReady("accountmesh-admission-policies", "admission policies", p.policies, p.bindings)
	return nil
}

// boundExports tells the policy index which exports accounts bind, from the custom resource
// index.
type boundExports struct{ index *dynamic.Index }

var _ validatingpolicy.Bound = boundExports{}

// BoundFrom implements validatingpolicy.Bound.
func (b boundExports) BoundFrom(id cluster.ID, gr schema.GroupResource) (validatingpolicy.ExportRef, bool) {
	acc, name, ok := b.index.BoundExport(id, gr)
	return validatingpolicy.ExportRef{Account: acc, Name: name}, ok
}

// Exports implements validatingpolicy.Bound.
func (b boundExports) Exports(id cluster.ID) []validatingpolicy.ExportRef {
	sources := b.index.BoundExports(id)
	out := make([]validatingpolicy.ExportRef, 0, len(sources))
	for _, s := range sources {
		out = append(out, validatingpolicy.ExportRef{Account: s.ExportID, Name: s.ExportName})
	}
	return out
}
