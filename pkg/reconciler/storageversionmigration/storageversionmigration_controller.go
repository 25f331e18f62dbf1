package storageversionmigration

import (
	"context"
	"errors"
	"time"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "storageversionmigration"

// Controller migrates the objects named by the StorageVersionMigrations of all accounts.
type Controller struct {
	informer cache.Controller
	queue    *controller.Queue[string]
}

// New returns the controller, which talks to the server through f; Start runs it.
func New(f *client.Factory) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create the storageversionmigration controller: no client factory")
	}
	lw, err := f.TypedListWatch(string(cluster.Wildcard), storagemigrationv1.SchemeGroupVersion, "storageversionmigrations")
	if err != nil {
		return nil, err
	}
	c := &Controller{}
	var store cache.Indexer
	r := &reconciler{
		get: func(key string) (*storagemigrationv1.StorageVersionMigration, bool) {
			obj, ok, err := store.GetByKey(key)
			if err != nil || !ok {
				return nil, false
			}
			return obj.(*storagemigrationv1.StorageVersionMigration), true
		},
		resolve: func(ctx context.Context, id cluster.ID, gr metav1.GroupResource) (resource, bool, error) {
			return resolve(ctx, discovery.ToDiscoveryInterfaceWithContext(f.Kube(string(id)).Discovery()), gr)
		},
		list: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
			return f.Metadata(string(id)).Resource(gvr).List(ctx, opts)
		},
		patch: func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name string, data []byte) error {
			_, err := f.Dynamic(string(id)).Resource(gvr).Namespace(namespace).Patch(ctx, name, types.MergePatchType, data,
				metav1.PatchOptions{FieldManager: controllerName})
			return err
		},
		updateStatus: func(ctx context.Context, id cluster.ID, svm *storagemigrationv1.StorageVersionMigration) error {
			_, err := f.Kube(string(id)).StoragemigrationV1().StorageVersionMigrations().UpdateStatus(ctx, svm, metav1.UpdateOptions{})
			return err
		},
		now: time.Now,
	}
	c.queue = controller.NewQueue(controller.Options[string]{Name: controllerName, Reconcile: r.reconcile})
	store, c.informer = client.NewInformer(lw, &storagemigrationv1.StorageVersionMigration{}, controller.ClusterKeyHandler(c.queue, false), nil)
	return c, nil
}

// Start runs the informer, waits for its cache and starts workers, which run until ctx is done.
func (c *Controller) Start(ctx context.Context, workers int) {
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.informer.HasSynced) {
		return
	}
	go c.queue.Run(ctx, workers)
}
