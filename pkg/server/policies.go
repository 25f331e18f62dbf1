package server

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"

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
	policiesLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), admissionregistrationv1.SchemeGroupVersion, "validatingadmissionpolicies")
	if err != nil {
		return err
	}
	bindingsLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), admissionregistrationv1.SchemeGroupVersion, "validatingadmissionpolicybindings")
	if err != nil {
		return err
	}
	p.policies = client.NewSharedInformer(policiesLW, &admissionregistrationv1.ValidatingAdmissionPolicy{})
	p.policies.SetTransform(client.DropManagedFields)
	p.policies.AddInlineEventHandler(p.index.PolicyHandler())
	p.bindings = client.NewSharedInformer(bindingsLW, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{})
	p.bindings.SetTransform(client.DropManagedFields)
	p.bindings.AddInlineEventHandler(p.index.BindingHandler())
	s.generic.AddPostStartHookOrDie("accountmesh-admission-policies", func(hookCtx genericapiserver.PostStartHookContext) error {
		go p.policies.Run(hookCtx.Context)
		go p.bindings.Run(hookCtx.Context)
		if !cache.WaitForCacheSync(hookCtx.Done(), p.synced) {
			return fmt.Errorf("admission policies did not sync")
		}
		return nil
	})
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
