package invite

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "invite"

// Controller marks pending invites Expired when their spec.expiresAt passes.
type Controller struct {
	store      cache.Indexer
	informer   cache.Controller
	queue      *controller.Queue[string]
	reconciler *reconciler
}

// New returns the controller; Start runs it.
func New(f *client.Factory) (*Controller, error) {
	if f == nil {
		return nil, errors.New("failed to create the invite controller: no client factory")
	}
	lw, err := f.TypedListWatch(string(cluster.Wildcard), iamv1alpha1.SchemeGroupVersion, "invites")
	if err != nil {
		return nil, err
	}
	c := &Controller{}
	c.queue = controller.NewQueue(controller.Options[string]{
		Name:      controllerName,
		Reconcile: func(ctx context.Context, key string) (time.Duration, error) { return c.reconciler.reconcile(ctx, key) },
	})
	c.store, c.informer = client.NewInformer(lw, &iamv1alpha1.Invite{}, controller.ClusterKeyHandler(c.queue, false), nil)
	c.reconciler = &reconciler{
		get: func(key string) (*iamv1alpha1.Invite, bool) {
			id, _, name, err := client.SplitClusterKey(key)
			if err != nil {
				return nil, false
			}
			return client.Get[*iamv1alpha1.Invite](c.store, id, "", name)
		},
		updateStatus: func(ctx context.Context, id cluster.ID, inv *iamv1alpha1.Invite) error {
			_, err := f.AccountMesh(string(id)).IamV1alpha1().Invites().UpdateStatus(ctx, inv, metav1.UpdateOptions{})
			return err
		},
		now: time.Now,
	}
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
