package storage

import (
	"context"
	"fmt"
	"path"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Restriction limits what a request may see and write, on top of its cluster: the provider
// view sets one per request, so that a provider sees only bound accounts and the objects its
// permission claims cover, whichever registry serves the resource.
type Restriction struct {
	// Member reports whether objects of an account are visible; nil means all.
	Member func(id cluster.ID) bool
	// Selector limits the visible objects by label, and the labels objects may be written
	// with; nil means all.
	Selector labels.Selector
	// Object further limits the visible objects; nil means all.
	Object func(obj runtime.Object) bool
}

type restrictionKey struct{}

// WithRestriction returns a context whose storage requests are limited by r.
func WithRestriction(ctx context.Context, r Restriction) context.Context {
	return context.WithValue(ctx, restrictionKey{}, &r)
}

// RestrictionFrom returns the restriction of a request, nil if it has none.
func RestrictionFrom(ctx context.Context) *Restriction {
	r, _ := ctx.Value(restrictionKey{}).(*Restriction)
	return r
}

// visible reports whether obj may be seen under r.
func (r *Restriction) visible(obj runtime.Object) bool {
	if co, ok := obj.(runtime.CacheableObject); ok {
		obj = co.GetObject()
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	if r.Member != nil && !r.Member(cluster.ID(m.GetAnnotations()[corev1alpha1.ClusterAnnotation])) {
		return false
	}
	if r.Selector != nil && !r.Selector.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	return r.Object == nil || r.Object(obj)
}

// creatable returns a Forbidden error when obj, stamped with its cluster, may not be written
// under r: its labels leave the selector, or it is otherwise invisible.
func (r *Restriction) creatable(obj runtime.Object, gr schema.GroupResource) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if r.Selector != nil && !r.Selector.Matches(labels.Set(m.GetLabels())) {
		return apierrors.NewForbidden(gr, m.GetName(),
			fmt.Errorf("objects written through the provider view must match the claim's selector %q", r.Selector.String()))
	}
	if !r.visible(obj) {
		return apierrors.NewForbidden(gr, m.GetName(), fmt.Errorf("the provider view may not write this object"))
	}
	return nil
}

// updatable reports whether the stored object an update starts from is visible. An empty
// object (no resource version: the update creates it) is checked by creatable instead.
func (r *Restriction) updatable(existing runtime.Object) bool {
	m, err := meta.Accessor(existing)
	if err != nil {
		return false
	}
	return m.GetResourceVersion() == "" || r.visible(existing)
}

// validateDeletion hides invisible objects from deletion, then runs validate.
func (r *Restriction) validateDeletion(validate storage.ValidateObjectFunc, gr schema.GroupResource, key string) storage.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		if !r.visible(obj) {
			return hidden(gr, key)
		}
		if validate == nil {
			return nil
		}
		return validate(ctx, obj)
	}
}

// predicate narrows a list or watch predicate to the selector of r.
func (r *Restriction) predicate(p storage.SelectionPredicate) storage.SelectionPredicate {
	if r.Selector == nil || r.Selector.Empty() {
		return p
	}
	reqs, selectable := r.Selector.Requirements()
	if !selectable {
		p.Label = labels.Nothing()
		return p
	}
	if p.Label == nil {
		p.Label = labels.Everything()
	}
	p.Label = p.Label.Add(reqs...)
	return p
}

// filterList drops the invisible items of a list. Pages may get shorter than the limit, which
// the API allows.
func (r *Restriction) filterList(list runtime.Object) error {
	items, err := meta.ExtractListWithAlloc(list)
	if err != nil {
		return err
	}
	kept := items[:0]
	for _, item := range items {
		if r.visible(item) {
			kept = append(kept, item)
		}
	}
	if len(kept) == len(items) {
		return nil
	}
	return meta.SetList(list, kept)
}

// filterWatch drops events of invisible objects; bookmarks and errors pass.
func (r *Restriction) filterWatch(w watch.Interface) watch.Interface {
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		if e.Type == watch.Bookmark || e.Type == watch.Error {
			return e, true
		}
		return e, r.visible(e.Object)
	})
}

// hidden is the error of an object the restriction hides: the same as a missing one.
func hidden(gr schema.GroupResource, key string) error {
	return apierrors.NewNotFound(gr, path.Base(key))
}
