package apis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/names"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
	"github.com/accountmesh/accountmesh/pkg/reconciler/crd"
)

// Retries back off between these bounds; a binding whose instances have finalizers is rechecked
// at most every maxRetryDelay.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = 10 * time.Second
)

// Indexes the controllers add to the shared informers.
const (
	// byCluster indexes exports and bindings by account.
	byCluster = "accountmesh.io/cluster"
	// byExportName indexes bindings by the name of the export they reference.
	byExportName = "accountmesh.io/export-name"
)

// Informers are the shared informers over apis.accountmesh.io in all accounts. The dynamic
// index reads the same bindings and schemas.
type Informers struct {
	Schemas, Exports, Bindings *client.SharedInformer
}

// Claims arbitrate who serves a group/resource in an account; *names.Claims is one.
type Claims interface {
	Claim(id cluster.ID, gr schema.GroupResource, o names.Owner) (names.Owner, bool)
	Release(id cluster.ID, gr schema.GroupResource, o names.Owner)
}

// Served is what the binding controller reads of what accounts serve; pkg/server wires it to
// the serving index.
type Served interface {
	// Bound returns the resource account id serves from bindings under a CRD name
	// (<plural>.<group>), false if no binding serves it.
	Bound(id cluster.ID, name string) (BoundResource, bool)
	// Siblings returns the served resources of a group in account id as CRDs, from CRDs and
	// from bindings of exports other than identityHash: what name conflicts are checked
	// against.
	Siblings(id cluster.ID, group, identityHash string) []*apiextensionsv1.CustomResourceDefinition
}

// BoundResource is a resource an account serves from bindings.
type BoundResource struct {
	// CRD is the resource as served; it must not be mutated.
	CRD *apiextensionsv1.CustomResourceDefinition
	// IdentityHash is the identity of the export it is bound from.
	IdentityHash string
	// Bindings are the names of the account's bindings serving it.
	Bindings []string
}

// Accounts resolves account paths; *cluster.Index is one.
type Accounts interface {
	Resolve(pathOrID string) (cluster.ID, bool)
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Controllers are the export and binding controllers.
type Controllers struct {
	informers Informers
	exports   *controller.Queue[string]
	bindings  *controller.Queue[string]
}

// New returns the controllers. It adds indexes to the informers, so it must be called before
// they run.
func New(f *client.Factory, claims Claims, served Served, accounts Accounts, inf Informers) (*Controllers, error) {
	c := &Controllers{informers: inf}
	if err := inf.Exports.Store().AddIndexers(cache.Indexers{byCluster: clusterOf}); err != nil {
		return nil, fmt.Errorf("failed to index APIExports: %w", err)
	}
	if err := inf.Bindings.Store().AddIndexers(cache.Indexers{
		byCluster: clusterOf,
		byExportName: func(obj interface{}) ([]string, error) {
			if b, ok := obj.(*apisv1alpha1.APIBinding); ok && b.Spec.Reference.Export != nil {
				return []string{b.Spec.Reference.Export.Name}, nil
			}
			return nil, nil
		},
	}); err != nil {
		return nil, fmt.Errorf("failed to index APIBindings: %w", err)
	}

	exportRec := &exportReconciler{
		schema: func(id cluster.ID, name string) (*apisv1alpha1.APIResourceSchema, bool) {
			return get[apisv1alpha1.APIResourceSchema](inf.Schemas, id, name)
		},
		getSecret: func(ctx context.Context, id cluster.ID, ns, name string) (*corev1.Secret, error) {
			return f.CoreV1(string(id)).Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		},
		createSecret: func(ctx context.Context, id cluster.ID, s *corev1.Secret) error {
			_, err := f.CoreV1(string(id)).Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) error {
			_, err := f.AccountMesh(string(id)).ApisV1alpha1().APIExports().Update(ctx, e, metav1.UpdateOptions{})
			return err
		},
		updateStatus: func(ctx context.Context, id cluster.ID, e *apisv1alpha1.APIExport) error {
			_, err := f.AccountMesh(string(id)).ApisV1alpha1().APIExports().UpdateStatus(ctx, e, metav1.UpdateOptions{})
			return err
		},
		boundSchemas: func(id cluster.ID, export string, gr schema.GroupResource) []string {
			objs, err := inf.Bindings.Store().ByIndex(byExportName, export)
			if err != nil {
				return nil
			}
			seen := map[string]bool{}
			var out []string
			for _, obj := range objs {
				b, ok := obj.(*apisv1alpha1.APIBinding)
				if !ok || b.Status.ExportClusterID != string(id) {
					continue
				}
				for _, br := range b.Status.BoundResources {
					if br.Group == gr.Group && br.Resource == gr.Resource && !seen[br.Schema] {
						seen[br.Schema] = true
						out = append(out, br.Schema)
					}
				}
			}
			return out
		},
		newKey: randomKey,
	}
	c.exports = newQueue("apiexport", func(ctx context.Context, key string) error {
		id, _, name, err := client.SplitClusterKey(key)
		if err != nil {
			return nil
		}
		e, ok := get[apisv1alpha1.APIExport](inf.Exports, id, name)
		if !ok {
			return nil
		}
		return exportRec.reconcile(ctx, id, e)
	})

	bindingRec := &bindingReconciler{
		resolve: accounts.Resolve,
		pathOf: func(id cluster.ID) string {
			if e, ok := accounts.Lookup(id); ok {
				return e.Path
			}
			return string(id)
		},
		export: func(id cluster.ID, name string) (*apisv1alpha1.APIExport, bool) {
			return get[apisv1alpha1.APIExport](inf.Exports, id, name)
		},
		schema: func(id cluster.ID, name string) (*apisv1alpha1.APIResourceSchema, bool) {
			return get[apisv1alpha1.APIResourceSchema](inf.Schemas, id, name)
		},
		binding: func(id cluster.ID, name string) (*apisv1alpha1.APIBinding, bool) {
			return get[apisv1alpha1.APIBinding](inf.Bindings, id, name)
		},
		claim:    claims.Claim,
		release:  claims.Release,
		bound:    served.Bound,
		siblings: served.Siblings,
		deleteInstances: func(ctx context.Context, id cluster.ID, c *apiextensionsv1.CustomResourceDefinition) (int, error) {
			return crd.DeleteInstances(ctx, f, string(id), c)
		},
		updateStatus: func(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error {
			_, err := f.AccountMesh(string(id)).ApisV1alpha1().APIBindings().UpdateStatus(ctx, b, metav1.UpdateOptions{})
			return err
		},
		removeFinalizer: func(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error {
			var kept []string
			for _, f := range b.Finalizers {
				if f != apisv1alpha1.BindingFinalizer {
					kept = append(kept, f)
				}
			}
			patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
				"finalizers": kept, "resourceVersion": b.ResourceVersion,
			}})
			if err != nil {
				return err
			}
			_, err = f.Dynamic(string(id)).Resource(apisv1alpha1.SchemeGroupVersion.WithResource("apibindings")).
				Patch(ctx, b.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	c.bindings = newQueue("apibinding", func(ctx context.Context, key string) error {
		id, _, name, err := client.SplitClusterKey(key)
		if err != nil {
			return nil
		}
		b, ok := get[apisv1alpha1.APIBinding](inf.Bindings, id, name)
		if !ok || b.Spec.Reference.Export == nil {
			return nil
		}
		return bindingRec.reconcile(ctx, id, b)
	})

	inf.Exports.AddEventHandler(handler(func(obj interface{}) {
		enqueue(c.exports, obj)
		if e, ok := obj.(*apisv1alpha1.APIExport); ok {
			c.enqueueIndexed(c.bindings, inf.Bindings, byExportName, e.Name)
		}
	}))
	inf.Schemas.AddEventHandler(handler(func(obj interface{}) {
		if id, err := clusterOf(obj); err == nil && len(id) == 1 {
			c.enqueueIndexed(c.exports, inf.Exports, byCluster, id[0])
		}
	}))
	inf.Bindings.AddEventHandler(handler(func(obj interface{}) { enqueue(c.bindings, obj) }))
	return c, nil
}

// AccountChanged queues the bindings of an account, e.g. when a resource name was freed there.
func (c *Controllers) AccountChanged(id cluster.ID) {
	c.enqueueIndexed(c.bindings, c.informers.Bindings, byCluster, string(id))
}

// Start starts the workers, which run until ctx is done. The informers must be running.
func (c *Controllers) Start(ctx context.Context, workers int) {
	go c.exports.Run(ctx, workers)
	go c.bindings.Run(ctx, workers)
}

// newQueue returns the queue of a controller whose reconcile reads the object of a key from a
// cache. A conflict means the cache is behind: the next event queues the object again.
func newQueue(name string, reconcile func(ctx context.Context, key string) error) *controller.Queue[string] {
	return controller.NewQueue(controller.Options[string]{
		Name: name,
		Reconcile: func(ctx context.Context, key string) (time.Duration, error) {
			if err := reconcile(ctx, key); err != nil && !apierrors.IsConflict(err) {
				return 0, err
			}
			return 0, nil
		},
		RateLimiter: controller.ExponentialBackoff[string](minRetryDelay, maxRetryDelay),
	})
}

func (c *Controllers) enqueueIndexed(q *controller.Queue[string], inf *client.SharedInformer, index, value string) {
	objs, err := inf.Store().ByIndex(index, value)
	if err != nil {
		return
	}
	for _, obj := range objs {
		enqueue(q, obj)
	}
}

func enqueue(q *controller.Queue[string], obj interface{}) {
	if key, err := client.ClusterKey(obj); err == nil {
		q.Add(key)
	}
}

// handler calls f with the object of every event, tombstones unwrapped.
func handler(f func(obj interface{})) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    f,
		UpdateFunc: func(_, obj interface{}) { f(obj) },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			f(obj)
		},
	}
}

// clusterOf is the index function of objects by account.
func clusterOf(obj interface{}) ([]string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, nil
	}
	return []string{m.GetAnnotations()[corev1alpha1.ClusterAnnotation]}, nil
}

// get reads a cluster-scoped object of an account from an informer's cache.
func get[T any](inf *client.SharedInformer, id cluster.ID, name string) (*T, bool) {
	obj, ok, err := inf.Store().GetByKey(client.ToClusterKey(id, "", name))
	if err != nil || !ok {
		return nil, false
	}
	t, ok := obj.(*T)
	return t, ok
}
