package orchestration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "orchestration"

// Indexes the controller adds to caches.
const (
	// byMember indexes contexts by the objects they name (memberKey).
	byMember = "orchestration/member"
	// bySelector indexes contexts by the accounts and groups their selector members select
	// in (selectKey).
	bySelector = "orchestration/selector"
	// byAccountResource indexes APIBindings by account and bound group/resource.
	byAccountResource = "orchestration/account-resource"
)

// Index resolves accounts and walks the tree.
type Index interface {
	Resolve(pathOrID string) (cluster.ID, bool)
	Lookup(id cluster.ID) (cluster.Entry, bool)
	Children(id cluster.ID) []cluster.ID
}

// Informer is what the controller uses of a shared informer over all accounts
// (client.SharedInformer).
type Informer interface {
	// Store returns the cache, keyed by client.ClusterKey.
	Store() cache.Indexer
	// HasSynced reports whether the first list is cached and handled.
	HasSynced() bool
	// AddInlineEventHandler registers a cheap handler run in the informer's goroutine.
	AddInlineEventHandler(h cache.ResourceEventHandler)
}

// Controller reports the readiness of the members of every OrchestrationContext.
type Controller struct {
	informer cache.Controller
	bindings Informer
	crds     Informer
	queue    *controller.Queue[string]
	sources  *sources
}

// memberKey names an object of a group in an account, as the byMember index holds it.
func memberKey(id cluster.ID, group, namespace, name string) string {
	return string(id) + "|" + group + "|" + namespace + "/" + name
}

// New returns the controller, which talks to the server through f, resolves accounts with
// index and finds the identity of bound resources in the shared informer of APIBindings
// (bindings), to which it adds an index; it caches what accounts serve until their CRDs (crds)
// or bindings change. Start runs it.
func New(f *client.Factory, index Index, bindings, crds Informer) (*Controller, error) {
	if f == nil || index == nil || bindings == nil || crds == nil {
		return nil, errors.New("failed to create the orchestration controller: missing client factory, index, bindings or CRDs")
	}
	if err := bindings.Store().AddIndexers(cache.Indexers{byAccountResource: bindingAccountResources}); err != nil {
		return nil, fmt.Errorf("failed to index APIBindings: %w", err)
	}
	lw, err := f.TypedListWatch(string(cluster.Wildcard), orchestrationv1alpha1.SchemeGroupVersion, "orchestrationcontexts")
	if err != nil {
		return nil, err
	}
	c := &Controller{bindings: bindings, crds: crds, sources: newSources()}
	served := newResources(func(ctx context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error) {
		list, err := f.Kube(string(id)).Discovery().ServerResourcesForGroupVersionWithContext(ctx, gv.String())
		if err != nil {
			return nil, err
		}
		return list.APIResources, nil
	})
	bindings.AddInlineEventHandler(served.invalidator())
	crds.AddInlineEventHandler(served.invalidator())
	var store cache.Indexer
	c.sources.newListWatch = func(key sourceKey, version string) metadata.ResourceInterface {
		return f.Metadata(string(cluster.Wildcard)).Resource(schema.GroupVersionResource{Group: key.gr.Group, Version: version, Resource: key.resource()})
	}
	c.sources.referenced = func(group string, m *metav1.PartialObjectMetadata) bool {
		return len(contextsOf(store, index, group, m)) > 0
	}
	c.sources.changed = func(group string, m *metav1.PartialObjectMetadata) {
		for _, key := range contextsOf(store, index, group, m) {
			c.queue.Add(key)
		}
	}
	r := &reconciler{
		get: func(key string) (*orchestrationv1alpha1.OrchestrationContext, bool) {
			obj, ok, err := store.GetByKey(key)
			if err != nil || !ok {
				return nil, false
			}
			oc, ok := obj.(*orchestrationv1alpha1.OrchestrationContext)
			return oc, ok
		},
		index: index,
		resolve: func(ctx context.Context, id cluster.ID, gv schema.GroupVersion, kind string) (memberResource, bool, error) {
			list, err := served.get(ctx, id, gv)
			if err != nil {
				return memberResource{}, false, err
			}
			for _, res := range list {
				if res.Kind != kind || strings.Contains(res.Name, "/") {
					continue
				}
				return memberResource{
					gvr:        gv.WithResource(res.Name),
					namespaced: res.Namespaced,
					source:     sourceKey{gr: gv.WithResource(res.Name).GroupResource(), identityHash: c.identityHash(id, gv.WithResource(res.Name).GroupResource())},
				}, true, nil
			}
			return memberResource{}, false, nil
		},
		review: func(ctx context.Context, id cluster.ID, sar *authorizationv1.SubjectAccessReview) (bool, error) {
			out, err := f.Kube(string(id)).AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			return out.Status.Allowed && !out.Status.Denied, nil
		},
		getMember: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error) {
			return f.Dynamic(string(id)).Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		listMembers: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, selector string, limit int) ([]unstructured.Unstructured, error) {
			list, err := f.Dynamic(string(id)).Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: int64(limit) + 1})
			if err != nil {
				return nil, err
			}
			return list.Items, nil
		},
		patchGate: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name, value string) error {
			var gate any = value
			if value == "" {
				gate = nil // a merge patch removes the annotation
			}
			patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{orchestrationv1alpha1.DependenciesReadyAnnotation: gate}}})
			if err != nil {
				return err
			}
			_, err = f.Metadata(string(id)).Resource(gvr).Namespace(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: controllerName})
			return err
		},
		deleteMember: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name string) error {
			background := metav1.DeletePropagationBackground
			return f.Metadata(string(id)).Resource(gvr).Namespace(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
		},
		update: func(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error {
			_, err := f.AccountMesh(string(id)).OrchestrationV1alpha1().OrchestrationContexts(oc.Namespace).Update(ctx, oc, metav1.UpdateOptions{})
			return err
		},
		updateStatus: func(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error {
			_, err := f.AccountMesh(string(id)).OrchestrationV1alpha1().OrchestrationContexts(oc.Namespace).UpdateStatus(ctx, oc, metav1.UpdateOptions{})
			return err
		},
		recordEvent: func(ctx context.Context, id cluster.ID, event *corev1.Event) error {
			_, err := f.CoreV1(string(id)).Events(event.Namespace).Create(ctx, event, metav1.CreateOptions{})
			return err
		},
		watch: c.sources.set,
		now:   time.Now,
	}
	c.queue = controller.NewQueue(controller.Options[string]{Name: controllerName, Reconcile: r.reconcile})
	store, c.informer = client.NewInformer(lw, &orchestrationv1alpha1.OrchestrationContext{}, controller.ClusterKeyHandler(c.queue, true), cache.Indexers{
		byMember:   func(obj any) ([]string, error) { return memberKeys(index, obj), nil },
		bySelector: func(obj any) ([]string, error) { return selectKeys(index, obj), nil },
	})
	return c, nil
}

// Start runs the informer, waits for its cache and the bindings' and starts the sources and
// workers, which run until ctx is done.
func (c *Controller) Start(ctx context.Context, workers int) {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("controller", controllerName))
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.informer.HasSynced, c.bindings.HasSynced, c.crds.HasSynced) {
		return
	}
	c.sources.start(ctx)
	go c.queue.Run(ctx, workers)
}

// memberKeys returns the keys of the objects a context names, for the byMember index. A member
// in an account that does not exist yet is keyed by what the reference says, and so is never
// matched.
func memberKeys(index Index, obj any) []string {
	var out []string
	forEachMember(index, obj, func(id cluster.ID, group string, m *orchestrationv1alpha1.Member) {
		if m.Ref != nil {
			out = append(out, memberKey(id, group, m.Ref.Namespace, m.Ref.Name))
		}
	})
	return out
}

// forEachMember calls f with every member of a context, its account (what the member names, as
// written, when the index does not know it) and its group; members whose apiVersion does not
// parse are skipped.
func forEachMember(index Index, obj any, f func(id cluster.ID, group string, m *orchestrationv1alpha1.Member)) {
	oc, ok := obj.(*orchestrationv1alpha1.OrchestrationContext)
	if !ok {
		return
	}
	here := cluster.ID(oc.Annotations[corev1alpha1.ClusterAnnotation])
	for i := range oc.Spec.Members {
		m := &oc.Spec.Members[i]
		var account, apiVersion string
		switch {
		case m.Ref != nil:
			account, apiVersion = m.Ref.Account, m.Ref.APIVersion
		case m.Selector != nil:
			account, apiVersion = m.Selector.Account, m.Selector.APIVersion
		default:
			continue
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			continue
		}
		id := here
		if account != "" {
			if id, ok = index.Resolve(account); !ok {
				id = cluster.ID(account)
			}
		}
		f(id, gv.Group, m)
	}
}

// selectKey names the objects of a group in an account that a selector member selects, as the
// bySelector index holds it; subtree for a selector that reaches the accounts below too.
func selectKey(id cluster.ID, group string, subtree bool) string {
	key := string(id) + "|" + group
	if subtree {
		key += "|subtree"
	}
	return key
}

// selectKeys returns the keys of the accounts and groups a context's selector members select
// in, for the bySelector index: a selector over a subtree under both keys of its account.
func selectKeys(index Index, obj any) []string {
	var out []string
	forEachMember(index, obj, func(id cluster.ID, group string, m *orchestrationv1alpha1.Member) {
		if m.Selector == nil {
			return
		}
		out = append(out, selectKey(id, group, false))
		if m.Selector.Subtree {
			out = append(out, selectKey(id, group, true))
		}
	})
	return out
}

// maxDepth bounds the walk up the tree from a changed object to the selectors above it.
const maxDepth = 64

// contextsOf returns the keys of the contexts that an object of group concerns: those that
// name it, those with a selector in its account and those with a selector over a subtree
// above it. A selector sees every change of the objects of its kind in the accounts it
// reaches, so that an object whose labels stop matching is noticed too.
func contextsOf(store cache.Indexer, index Index, group string, m *metav1.PartialObjectMetadata) []string {
	id := cluster.ID(m.Annotations[corev1alpha1.ClusterAnnotation])
	keys, _ := store.IndexKeys(byMember, memberKey(id, group, m.Namespace, m.Name))
	selected, _ := store.IndexKeys(bySelector, selectKey(id, group, false))
	keys = append(keys, selected...)
	for depth := 0; depth < maxDepth; depth++ {
		e, ok := index.Lookup(id)
		if !ok || e.Parent == "" {
			break
		}
		id = e.Parent
		above, _ := store.IndexKeys(bySelector, selectKey(id, group, true))
		keys = append(keys, above...)
	}
	return keys
}

// bindingAccountResources indexes a binding by its account and each group/resource it bound.
func bindingAccountResources(obj any) ([]string, error) {
	b, ok := obj.(*apisv1alpha1.APIBinding)
	if !ok || b.Status.IdentityHash == "" {
		return nil, nil
	}
	out := make([]string, 0, len(b.Status.BoundResources))
	for _, br := range b.Status.BoundResources {
		out = append(out, b.Annotations[corev1alpha1.ClusterAnnotation]+"|"+schema.GroupResource{Group: br.Group, Resource: br.Resource}.String())
	}
	return out, nil
}

// identityHash returns the identity of the export from which account id binds gr; empty when
// it does not bind it (a built-in or a CRD).
func (c *Controller) identityHash(id cluster.ID, gr schema.GroupResource) string {
	objs, err := c.bindings.Store().ByIndex(byAccountResource, string(id)+"|"+gr.String())
	if err != nil {
		return ""
	}
	for _, obj := range objs {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok && b.Status.IdentityHash != "" {
			return b.Status.IdentityHash
		}
	}
	return ""
}
