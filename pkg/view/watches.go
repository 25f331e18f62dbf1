package view

import (
	"context"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// watchKey is what a view watch depends on: an export, a resource and an account (or "*").
type watchKey struct {
	identityHash string
	resource     schema.GroupResource
	account      cluster.ID
}

// Watches ends open view watches when what they show is revoked: a claim stops being applied
// or a binding goes. The watch's request context is cancelled, so the upstream watch handler
// ends the response and the client re-lists, then sees the revocation. It is safe for
// concurrent use.
type Watches struct {
	mu   sync.Mutex
	open map[watchKey]map[*context.CancelFunc]struct{}
}

// Track returns a context for a view watch of resource in account (cluster.Wildcard for all)
// that is cancelled when Stop revokes it, and a function to call when the watch ends.
func (w *Watches) Track(ctx context.Context, identityHash string, resource schema.GroupResource, account cluster.ID) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	k := watchKey{identityHash, resource, account}
	w.mu.Lock()
	if w.open == nil {
		w.open = map[watchKey]map[*context.CancelFunc]struct{}{}
	}
	if w.open[k] == nil {
		w.open[k] = map[*context.CancelFunc]struct{}{}
	}
	w.open[k][&cancel] = struct{}{}
	w.mu.Unlock()
	return ctx, func() {
		w.mu.Lock()
		delete(w.open[k], &cancel)
		if len(w.open[k]) == 0 {
			delete(w.open, k)
		}
		w.mu.Unlock()
		cancel()
	}
}

// Stop ends the view watches of resource in account and the cross-account watches of
// resource, of the export with identityHash.
func (w *Watches) Stop(identityHash string, resource schema.GroupResource, account cluster.ID) {
	var cancels []*context.CancelFunc
	w.mu.Lock()
	for _, id := range []cluster.ID{account, cluster.Wildcard} {
		for c := range w.open[watchKey{identityHash, resource, id}] {
			cancels = append(cancels, c)
		}
	}
	w.mu.Unlock()
	for _, c := range cancels {
		(*c)()
	}
}

// Len returns the number of open tracked watches.
func (w *Watches) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.open {
		n += len(m)
	}
	return n
}

// Register makes binding changes stop the watches they revoke: when a binding goes, or loses
// an applied claim or a bound resource, or changes identity. A binding being deleted keeps its
// watches until it is gone: the provider sees its instances deleted.
func (w *Watches) Register(bindings interface {
	AddInlineEventHandler(cache.ResourceEventHandler)
}) {
	bindings.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj interface{}) {
			o, ok1 := oldObj.(*apisv1alpha1.APIBinding)
			n, ok2 := newObj.(*apisv1alpha1.APIBinding)
			if ok1 && ok2 {
				w.revoke(o, n)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
				w.revoke(b, nil)
			}
		},
	})
}

// revoke stops the watches of what old gave the provider and updated (nil when deleted) does
// not.
func (w *Watches) revoke(old, updated *apisv1alpha1.APIBinding) {
	hash := old.Status.IdentityHash
	if hash == "" {
		return
	}
	id := cluster.ID(old.Annotations[corev1alpha1.ClusterAnnotation])
	gone := updated == nil || updated.Status.IdentityHash != hash
	for _, c := range old.Status.AppliedPermissionClaims {
		if gone || !slices.ContainsFunc(updated.Status.AppliedPermissionClaims, func(a apisv1alpha1.PermissionClaim) bool { return sameClaim(&a, &c) }) {
			w.Stop(hash, schema.GroupResource{Group: c.Group, Resource: c.Resource}, id)
		}
	}
	for _, r := range old.Status.BoundResources {
		if gone || !slices.ContainsFunc(updated.Status.BoundResources, func(a apisv1alpha1.BoundResource) bool { return a.Group == r.Group && a.Resource == r.Resource }) {
			w.Stop(hash, schema.GroupResource{Group: r.Group, Resource: r.Resource}, id)
		}
	}
	if gone {
		w.Stop(hash, apisv1alpha1.Resource("apibindings"), id)
	}
}
