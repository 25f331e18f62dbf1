// Package accountlimits enforces the limits on the account tree that Account objects set
// (spec.limits): creating an Account is refused with 403 Forbidden when its parent would have
// more children than the smallest maxChildAccounts set on the parent or an ancestor, or when an
// account on the way up would have more accounts below it than the maxSubtreeAccounts it sets.
// Objects (a second plugin) refuses creating any object in an account that stores as many as
// its effective maxObjects (pkg/objectcount counts them and resolves the limit). The message
// names the limit, its value and the account, type or flag that set it.
//
// It must not mutate objects; it reads the tree and the limits from the account index only, so
// accounts the index does not know yet (created a moment ago) are not counted.
package accountlimits

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/admission"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Index is what the plugin needs of the account index.
type Index interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
	Limits(id cluster.ID) (maxChild cluster.Limit, maxSubtree []cluster.Limit)
	Usage(id cluster.ID) (children, subtree int)
}

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	index Index
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin.
func New(index Index) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create), index: index}
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != corev1alpha1.Resource("accounts") || a.GetSubresource() != "" {
		return nil
	}
	parent, ok := cluster.FromContext(ctx)
	if !ok || parent == cluster.Wildcard {
		return nil
	}
	maxChild, maxSubtree := p.index.Limits(parent)
	if maxChild.SetBy != "" {
		if children, _ := p.index.Usage(parent); children+1 > int(maxChild.Value) {
			return p.exceeded(a, "maxChildAccounts", maxChild, fmt.Sprintf("%s has %d child accounts", p.path(parent), children))
		}
	}
	for _, l := range maxSubtree {
		if _, subtree := p.index.Usage(l.SetBy); subtree+1 > int(l.Value) {
			return p.exceeded(a, "maxSubtreeAccounts", l, fmt.Sprintf("%s has %d accounts below it", p.path(l.SetBy), subtree))
		}
	}
	return nil
}

func (p *Plugin) exceeded(a admission.Attributes, limit string, l cluster.Limit, usage string) error {
	return admission.NewForbidden(a, fmt.Errorf("exceeded account limit %s=%d set by account %s: %s", limit, l.Value, p.path(l.SetBy), usage))
}

func (p *Plugin) path(id cluster.ID) string { return path(p.index, id) }

// path returns the path of account id, or its ID when the index does not know it.
func path(index Index, id cluster.ID) string {
	if e, ok := index.Lookup(id); ok {
		return e.Path
	}
	return string(id)
}
