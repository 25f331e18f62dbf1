package view

import (
	"context"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Export is the provider view a request came through.
type Export struct {
	// ProviderID is the provider account's cluster ID; cluster.Unknown when the URL names an
	// account that does not exist.
	ProviderID cluster.ID
	// Name is the APIExport's name.
	Name string
	// Account is the consumer account as the URL names it: a cluster ID, "*", or anything
	// else, which is never resolved.
	Account string
	// Object is the APIExport, set after authorization by WithUnboundNotFound.
	Object *apisv1alpha1.APIExport
}

// IdentityHash returns the export's identity hash, "" before the export is resolved.
func (e Export) IdentityHash() string {
	if e.Object == nil {
		return ""
	}
	return e.Object.Status.IdentityHash
}

type contextKey struct{}

// WithExport returns a context of a request through the provider view e.
func WithExport(ctx context.Context, e Export) context.Context {
	return context.WithValue(ctx, contextKey{}, e)
}

// FromContext returns the provider view of a request, and false outside a view.
func FromContext(ctx context.Context) (Export, bool) {
	e, ok := ctx.Value(contextKey{}).(Export)
	return e, ok
}
