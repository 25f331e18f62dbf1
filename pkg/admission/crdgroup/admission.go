// Package crdgroup refuses CustomResourceDefinitions in the groups the server serves itself
// (rbac.authorization.k8s.io, core.accountmesh.io, ...): requests for those groups always reach
// the built-in handlers, so such a CRD could never be served.
//
// It must not mutate objects and knows nothing of accounts.
package crdgroup

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
)

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	builtin atomic.Pointer[sets.Set[string]]
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin refusing CRDs in the given built-in groups.
func New(builtinGroups ...string) *Plugin {
	p := &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
	p.SetBuiltinGroups(builtinGroups...)
	return p
}

// SetBuiltinGroups replaces the set of built-in groups. The server calls it once its API groups
// are installed, which happens after the admission chain is built.
func (p *Plugin) SetBuiltinGroups(groups ...string) {
	s := sets.New(groups...)
	p.builtin.Store(&s)
}

// IsBuiltin reports whether group is served by the server itself. APIResourceSchemas are
// checked with it too: a bound resource in such a group could never be served either.
func (p *Plugin) IsBuiltin(group string) bool {
	return p.builtin.Load().Has(group)
}

// BuiltinGroups returns the built-in groups, sorted.
func (p *Plugin) BuiltinGroups() []string {
	return sets.List(*p.builtin.Load())
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != apiextensions.Resource("customresourcedefinitions") || a.GetSubresource() != "" {
		return nil
	}
	crd, ok := a.GetObject().(*apiextensions.CustomResourceDefinition)
	if !ok {
		return nil
	}
	if !p.IsBuiltin(crd.Spec.Group) {
		return nil
	}
	groups := p.BuiltinGroups()
	return apierrors.NewInvalid(a.GetKind().GroupKind(), a.GetName(), field.ErrorList{
		field.Invalid(field.NewPath("spec", "group"), crd.Spec.Group,
			fmt.Sprintf("the group is served by Account Mesh itself; built-in groups (%s) cannot be extended with custom resources", strings.Join(groups, ", "))),
	})
}
