package marketplace

import (
	"context"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// resource is the group resource served here.
var resource = marketplacev1alpha1.Resource("marketplaceentries")

// settle is how long a watch waits after a change before recomputing, so that a burst of
// changes (an account's RBAC written at once) costs one computation.
const settle = 50 * time.Millisecond

// NewStorage returns the storage of marketplace.accountmesh.io/v1alpha1, keyed by resource.
func NewStorage(d *Deps) map[string]rest.Storage {
	return map[string]rest.Storage{"marketplaceentries": &REST{deps: d}}
}

// REST serves MarketplaceEntries: get, list and watch only; every write is 405.
type REST struct {
	deps *Deps
}

var (
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.CategoriesProvider   = &REST{}
)

// table prints exactly the columns; -o wide adds the export, the plans and readiness.
// An entry's age would be the export's, which says little about the offer.
var table = store.NewColumnsTableConvertor(resource,
	store.Column{Name: "Name", Type: "string", Format: "name", Description: "The entry's name: the export's and a hash of its account and name.", Value: func(obj runtime.Object) interface{} {
		return entryOf(obj).Name
	}},
	store.Column{Name: "Provider", Type: "string", Description: "The provider account's path.", Value: func(obj runtime.Object) interface{} {
		return entryOf(obj).Spec.Provider.Path
	}},
	store.Column{Name: "Service", Type: "string", Description: "The service's display name, else the export's name.", Value: func(obj runtime.Object) interface{} {
		if e := entryOf(obj); e.Spec.Catalog.DisplayName != "" {
			return e.Spec.Catalog.DisplayName
		}
		return entryOf(obj).Spec.Export
	}},
	store.Column{Name: "Categories", Type: "string", Description: "The service's categories.", Value: func(obj runtime.Object) interface{} {
		return strings.Join(entryOf(obj).Spec.Catalog.Categories, ",")
	}},
	store.Column{Name: "Model", Type: "string", Description: "Shared or Dedicated for a managed service, else empty.", Value: func(obj runtime.Object) interface{} {
		return string(entryOf(obj).Spec.Model)
	}},
	store.Column{Name: "Bound", Type: "string", Description: "This account's bindings of the export.", Value: func(obj runtime.Object) interface{} {
		var names []string
		for _, b := range entryOf(obj).Status.Bindings {
			names = append(names, b.Name)
		}
		return strings.Join(names, ",")
	}},
	store.Column{Name: "Export", Type: "string", Priority: 1, Description: "The export's name.", Value: func(obj runtime.Object) interface{} {
		return entryOf(obj).Spec.Export
	}},
	store.Column{Name: "Plans", Type: "string", Priority: 1, Description: "The plans, the default first.", Value: func(obj runtime.Object) interface{} {
		var names []string
		for _, p := range entryOf(obj).Spec.Plans {
			if p.Default {
				names = append([]string{p.Name}, names...)
			} else {
				names = append(names, p.Name)
			}
		}
		return strings.Join(names, ",")
	}},
	store.Column{Name: "Ready", Type: "string", Priority: 1, Description: "Whether the export can be bound, else why not.", Value: func(obj runtime.Object) interface{} {
		for _, c := range entryOf(obj).Status.Conditions {
			if c.Type == marketplacev1alpha1.ConditionReady {
				if c.Status == metav1.ConditionTrue {
					return string(c.Status)
				}
				return string(c.Status) + " (" + c.Reason + ")"
			}
		}
		return ""
	}},
)

func entryOf(obj runtime.Object) *marketplacev1alpha1.MarketplaceEntry {
	return obj.(*marketplacev1alpha1.MarketplaceEntry)
}

// New implements rest.Storage.
func (r *REST) New() runtime.Object { return &marketplacev1alpha1.MarketplaceEntry{} }

// NewList implements rest.Lister.
func (r *REST) NewList() runtime.Object { return &marketplacev1alpha1.MarketplaceEntryList{} }

// Destroy implements rest.Storage.
func (r *REST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *REST) NamespaceScoped() bool { return false }

// GetSingularName implements rest.SingularNameProvider.
func (r *REST) GetSingularName() string { return "marketplaceentry" }

// Categories implements rest.CategoriesProvider.
func (r *REST) Categories() []string { return []string{"accountmesh"} }

// ConvertToTable implements rest.TableConvertor.
func (r *REST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return table.ConvertToTable(ctx, obj, opts)
}

// caller returns the account and user of a request, refusing the wildcard.
func caller(ctx context.Context) (cluster.ID, user.Info, error) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return "", nil, apierrors.NewMethodNotSupported(resource, "list across all accounts (/clusters/*)")
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return "", nil, apierrors.NewBadRequest("no user in the request")
	}
	return id, u, nil
}

// selected computes the caller's entries that match the options, at the current generation.
func (r *REST) selected(ctx context.Context, opts *metainternalversion.ListOptions) (map[string]*marketplacev1alpha1.MarketplaceEntry, []string, string, error) {
	id, u, err := caller(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	gen, _ := r.deps.Changes.current()
	rv := strconv.FormatUint(gen, 10)
	label, field := labels.Everything(), fields.Everything()
	if opts != nil && opts.LabelSelector != nil {
		label = opts.LabelSelector
	}
	if opts != nil && opts.FieldSelector != nil {
		field = opts.FieldSelector
	}
	byName := map[string]*marketplacev1alpha1.MarketplaceEntry{}
	var names []string
	for _, e := range r.deps.entries(ctx, id, u) {
		if !label.Matches(labels.Set(e.Labels)) || !field.Matches(fields.Set{"metadata.name": e.Name}) {
			continue
		}
		e.ResourceVersion = rv
		byName[e.Name] = &e
		names = append(names, e.Name)
	}
	return byName, names, rv, nil
}

// List implements rest.Lister: label selectors and the field metadata.name select.
func (r *REST) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	byName, names, rv, err := r.selected(ctx, opts)
	if err != nil {
		return nil, err
	}
	list := &marketplacev1alpha1.MarketplaceEntryList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []marketplacev1alpha1.MarketplaceEntry{}}
	for _, n := range names {
		list.Items = append(list.Items, *byName[n])
	}
	return list, nil
}

// Get implements rest.Getter: an entry the caller may not see is NotFound like one that never
// existed.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	byName, _, _, err := r.selected(ctx, &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name)})
	if err != nil {
		return nil, err
	}
	if e, ok := byName[name]; ok {
		return e, nil
	}
	return nil, apierrors.NewNotFound(resource, name)
}

// Watch implements rest.Watcher. Without a resourceVersion (or "0"), or with
// sendInitialEvents, it starts with the current entries as ADDED; with the resourceVersion of
// a list it starts from the entries as they are now. After each change of the inputs it
// recomputes the caller's entries and sends what was added, modified or deleted.
func (r *REST) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	// The channel is taken before computing, so that no change after the computation is
	// missed.
	_, changed := r.deps.Changes.current()
	current, _, _, err := r.selected(ctx, opts)
	if err != nil {
		return nil, err
	}
	initial := opts == nil || opts.ResourceVersion == "" || opts.ResourceVersion == "0"
	// A watch-list request (sendInitialEvents with bookmarks) ends its initial events with a
	// bookmark; the server also defaults sendInitialEvents on some watches without bookmarks,
	// which get the initial events only.
	sendInitial := opts != nil && opts.SendInitialEvents != nil && *opts.SendInitialEvents
	initialEnd := sendInitial && opts.AllowWatchBookmarks
	ch := make(chan watch.Event, 16)
	w := watch.NewProxyWatcher(ch)
	go func() {
		defer close(ch)
		send := func(ev watch.Event) bool {
			select {
			case ch <- ev:
				return true
			case <-w.StopChan():
				return false
			case <-ctx.Done():
				return false
			}
		}
		if initial || sendInitial {
			for _, e := range current {
				if !send(watch.Event{Type: watch.Added, Object: e}) {
					return
				}
			}
		}
		if initialEnd {
			_, _, rv, err := r.selected(ctx, opts)
			if err != nil {
				return
			}
			bookmark := &marketplacev1alpha1.MarketplaceEntry{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv,
				Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
			if !send(watch.Event{Type: watch.Bookmark, Object: bookmark}) {
				return
			}
		}
		for {
			select {
			case <-changed:
			case <-w.StopChan():
				return
			case <-ctx.Done():
				return
			}
			select {
			case <-time.After(settle):
			case <-w.StopChan():
				return
			case <-ctx.Done():
				return
			}
			_, changed = r.deps.Changes.current()
			next, _, _, err := r.selected(ctx, opts)
			if err != nil {
				return
			}
			for _, ev := range diff(current, next) {
				if !send(ev) {
					return
				}
			}
			current = next
		}
	}()
	return w, nil
}

// diff returns the events that turn the entries before into those after.
func diff(before, after map[string]*marketplacev1alpha1.MarketplaceEntry) []watch.Event {
	var events []watch.Event
	for name, e := range after {
		old, ok := before[name]
		switch {
		case !ok:
			events = append(events, watch.Event{Type: watch.Added, Object: e})
		case !equality.Semantic.DeepEqual(old.Spec, e.Spec) || !equality.Semantic.DeepEqual(old.Status, e.Status) ||
			!equality.Semantic.DeepEqual(old.Labels, e.Labels):
			events = append(events, watch.Event{Type: watch.Modified, Object: e})
		}
	}
	for name, e := range before {
		if _, ok := after[name]; !ok {
			events = append(events, watch.Event{Type: watch.Deleted, Object: e})
		}
	}
	return events
}
