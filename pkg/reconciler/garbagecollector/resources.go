package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource is a resource whose objects the collector watches.
type Resource struct {
	// GVR is the group, version and plural name of the resource.
	GVR schema.GroupVersionResource
	// Kind is the kind of its objects, as owner references name it.
	Kind string
	// Namespaced is true for namespace-scoped resources.
	Namespaced bool
}

// ignoredResources are never watched. Events are served under two groups from one storage, so
// watching both would show every event twice; like upstream, the collector leaves them alone.
var ignoredResources = []schema.GroupResource{
	{Resource: "events"},
	{Group: eventsv1.GroupName, Resource: "events"},
}

// errUnknownKind reports an owner reference whose kind is not served in its account.
var errUnknownKind = errors.New("kind is not served")

// deletableResources returns the resources of discovery lists that can be listed, watched and
// deleted, except the ignored ones.
func deletableResources(lists []*metav1.APIResourceList) []Resource {
	var out []Resource
	for _, list := range lists {
		if list == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range list.APIResources {
			if strings.Contains(res.Name, "/") || slices.Contains(ignoredResources, gv.WithResource(res.Name).GroupResource()) {
				continue
			}
			if !slices.Contains(res.Verbs, "delete") || !slices.Contains(res.Verbs, "list") || !slices.Contains(res.Verbs, "watch") {
				continue
			}
			out = append(out, Resource{GVR: gv.WithResource(res.Name), Kind: res.Kind, Namespaced: res.Namespaced})
		}
	}
	return out
}

// kinds maps the kinds named by owner references to resources: first through the built-in
// resources, which every account serves, then through the discovery of the owner's account,
// which alone says what the account serves: custom resources differ between accounts, so that
// a kind another account defines means nothing here.
type kinds struct {
	mu    sync.RWMutex
	known map[schema.GroupVersionKind]Resource
	// discover returns the resources of a group version in an account.
	discover func(ctx context.Context, cluster, groupVersion string) (*metav1.APIResourceList, error)
}

// add makes a watched resource known.
func (k *kinds) add(r Resource) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.known[r.GVR.GroupVersion().WithKind(r.Kind)] = r
}

// builtin reports whether r is a resource every account serves, as the collector watches it.
func (k *kinds) builtin(r Resource) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.known[r.GVR.GroupVersion().WithKind(r.Kind)] == r
}

// resolve returns the resource of a kind in an account.
func (k *kinds) resolve(ctx context.Context, cluster, apiVersion, kind string) (Resource, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return Resource{}, fmt.Errorf("failed to parse owner apiVersion %q: %w", apiVersion, err)
	}
	k.mu.RLock()
	r, ok := k.known[gv.WithKind(kind)]
	k.mu.RUnlock()
	if ok {
		return r, nil
	}
	list, err := k.discover(ctx, cluster, apiVersion)
	if apierrors.IsNotFound(err) {
		// Not a missing owner: the account does not serve the group version at all.
		return Resource{}, fmt.Errorf("%w: %s", errUnknownKind, gv.WithKind(kind))
	}
	if err != nil {
		return Resource{}, fmt.Errorf("failed to discover %s: %w", apiVersion, err)
	}
	for _, res := range list.APIResources {
		if res.Kind == kind && !strings.Contains(res.Name, "/") {
			return Resource{GVR: gv.WithResource(res.Name), Kind: kind, Namespaced: res.Namespaced}, nil
		}
	}
	return Resource{}, fmt.Errorf("%w: %s", errUnknownKind, gv.WithKind(kind))
}
