// Package accountlifecycle rejects the creation of objects in an account that is being deleted,
// so that nothing new appears while the account's descendants and content are removed, as a
// terminating namespace does for its content.
//
// It must not mutate objects; it reads the account's state from the account index only.
package accountlifecycle

import (
	"context"
	"fmt"

	"k8s.io/apiserver/pkg/admission"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Lookup finds an account by cluster ID.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	index Lookup
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin.
func New(index Lookup) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create), index: index}
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil
	}
	if e, ok := p.index.Lookup(id); ok && e.Deleting {
		return admission.NewForbidden(a, fmt.Errorf("unable to create new content in account %s because it is being deleted", e.Path))
	}
	return nil
}
