// Package identityprovider runs the controller that turns the IdentityProviders of every
// organisation into authenticators (oidc.Orgs) without a restart, and reports in their status
// whether the issuer's discovery document and keys could be fetched.
//
// It must not change an IdentityProvider's spec; it writes status only.
package identityprovider

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication/oidc"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "identityprovider"

// Issuers are probed again after these delays: soon while they fail, rarely once they work.
const (
	retryNotReady     = 15 * time.Second
	recheckReady      = 5 * time.Minute
	retryInitializing = 200 * time.Millisecond
)

// Controller keeps oidc.Orgs in line with the IdentityProviders of all accounts.
type Controller struct {
	store      cache.Indexer
	informer   cache.Controller
	queue      *controller.Queue[string]
	reconciler *reconciler
}

// New returns the controller; Start runs it.
func New(f *client.Factory, orgs *oidc.Orgs) (*Controller, error) {
	if f == nil || orgs == nil {
		return nil, errors.New("failed to create the identityprovider controller: no client factory or authenticator")
	}
	lw, err := f.TypedListWatch(string(cluster.Wildcard), iamv1alpha1.SchemeGroupVersion, "identityproviders")
	if err != nil {
		return nil, err
	}
	c := &Controller{}
	// The reconciler asks for its own rechecks; failures back off with the default limiter.
	c.queue = controller.NewQueue(controller.Options[string]{
		Name:      controllerName,
		Reconcile: func(ctx context.Context, key string) (time.Duration, error) { return c.reconciler.reconcile(ctx, key) },
	})
	c.store, c.informer = client.NewInformer(lw, &iamv1alpha1.IdentityProvider{}, controller.ClusterKeyHandler(c.queue, true), nil)
	c.reconciler = &reconciler{
		orgs:  orgs,
		built: map[string]builtProvider{},
		get: func(key string) (*iamv1alpha1.IdentityProvider, bool, error) {
			obj, ok, err := c.store.GetByKey(key)
			if err != nil || !ok {
				return nil, ok, err
			}
			return obj.(*iamv1alpha1.IdentityProvider), true, nil
		},
		updateStatus: func(ctx context.Context, id cluster.ID, idp *iamv1alpha1.IdentityProvider) error {
			_, err := f.AccountMesh(string(id)).IamV1alpha1().IdentityProviders().UpdateStatus(ctx, idp, metav1.UpdateOptions{})
			return err
		},
		probe: probeIssuer,
		build: buildProvider,
		now:   time.Now,
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

// HasSynced reports whether the informer has listed every IdentityProvider once.
func (c *Controller) HasSynced() bool { return c.informer.HasSynced() }
