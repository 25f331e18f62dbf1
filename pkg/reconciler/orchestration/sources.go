package orchestration

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
)

// sourceKey names one watch of a resource in all accounts: the resource served by built-ins
// and CRDs when identityHash is empty, else the one bound from the export with that identity.
type sourceKey struct {
	gr           schema.GroupResource
	identityHash string
}

// resource is the resource name the source is watched under at the wildcard.
func (k sourceKey) resource() string {
	if k.identityHash == "" {
		return k.gr.Resource
	}
	return k.gr.Resource + ":" + k.identityHash
}

// source is a running watch.
type source struct {
	stop context.CancelFunc
}

// sources runs the watches that the contexts need, each once, while some context needs it.
type sources struct {
	// newListWatch returns the list-watch of a source's metadata, in a version.
	newListWatch func(key sourceKey, version string) metadata.ResourceInterface
	// referenced reports whether some context names an object of group in an account.
	referenced func(group string, m *metav1.PartialObjectMetadata) bool
	// changed is called with every change of a referenced object.
	changed func(group string, m *metav1.PartialObjectMetadata)

	mu        sync.Mutex
	ctx       context.Context
	running   map[sourceKey]*source
	byContext map[string]sets.Set[sourceKey]
	users     map[sourceKey]sets.Set[string]
	// pending are sources wanted before start, with their versions.
	pending map[sourceKey]string
}

func newSources() *sources {
	return &sources{
		running:   map[sourceKey]*source{},
		byContext: map[string]sets.Set[sourceKey]{},
		users:     map[sourceKey]sets.Set[string]{},
		pending:   map[sourceKey]string{},
	}
}

// start runs the sources wanted so far, and the later ones at once, until ctx is done.
func (s *sources) start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = ctx
	for key, version := range s.pending {
		s.run(key, version)
	}
	s.pending = nil
}

// set makes the sources a context needs exactly want (with the version to watch each in),
// starting the new ones and stopping those no context needs any more.
func (s *sources) set(contextKey string, want map[sourceKey]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.byContext[contextKey]
	next := sets.New[sourceKey]()
	for key, version := range want {
		next.Insert(key)
		if s.users[key] == nil {
			s.users[key] = sets.New[string]()
		}
		s.users[key].Insert(contextKey)
		if _, ok := s.running[key]; ok {
			continue
		}
		if s.ctx == nil {
			s.pending[key] = version
			continue
		}
		s.run(key, version)
	}
	for key := range old.Difference(next) {
		s.release(key, contextKey)
	}
	if next.Len() == 0 {
		delete(s.byContext, contextKey)
	} else {
		s.byContext[contextKey] = next
	}
}

// release drops a context's use of a source and stops it when it was the last.
func (s *sources) release(key sourceKey, contextKey string) {
	users := s.users[key]
	users.Delete(contextKey)
	if users.Len() > 0 {
		return
	}
	delete(s.users, key)
	delete(s.pending, key)
	if src, ok := s.running[key]; ok {
		src.stop()
		delete(s.running, key)
	}
}

// count returns how many sources run.
func (s *sources) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// run starts the informer of a source; s.mu is held. The list-watch reports what it keeps; the
// informer adds the deletions it finds when it lists again after a broken watch.
func (s *sources) run(key sourceKey, version string) {
	group := key.gr.Group
	notify := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			s.changed(group, m)
		}
	}
	_, informer := client.NewInformer(s.filteredListWatch(s.newListWatch(key, version), group), &metav1.PartialObjectMetadata{},
		cache.ResourceEventHandlerFuncs{DeleteFunc: notify}, nil)
	ctx, cancel := context.WithCancel(s.ctx)
	s.running[key] = &source{stop: cancel}
	go informer.RunWithContext(ctx)
}

// filteredListWatch lists and watches the metadata of a resource in all accounts, keeping only
// the objects some context names, trimmed to what the controller reads: the cache of a source
// grows with the members, not with the objects of every account. It reports every kept object
// itself: an object that no context named when it was listed is not in the informer's cache,
// which would drop its deletion.
func (s *sources) filteredListWatch(res metadata.ResourceInterface, group string) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list, err := res.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			kept := list.Items[:0]
			for i := range list.Items {
				if s.referenced(group, &list.Items[i]) {
					trim(&list.Items[i].ObjectMeta)
					kept = append(kept, list.Items[i])
				}
			}
			list.Items = kept
			for i := range list.Items {
				s.changed(group, &list.Items[i])
			}
			return list, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w, err := res.Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				m, ok := e.Object.(*metav1.PartialObjectMetadata)
				if !ok || e.Type == watch.Bookmark || e.Type == watch.Error {
					return e, true
				}
				if !s.referenced(group, m) {
					return e, false
				}
				trim(&m.ObjectMeta)
				s.changed(group, m)
				return e, true
			}), nil
		},
	}
}

// trim drops what the controller never reads of a member's metadata.
func trim(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	m.Labels = nil
	m.OwnerReferences = nil
	m.Annotations = map[string]string{corev1alpha1.ClusterAnnotation: m.Annotations[corev1alpha1.ClusterAnnotation]}
}
