// Package admissionpolicy runs the controller that type-checks the ValidatingAdmissionPolicies
// of every account, as upstream's does: each policy's expressions are checked against the
// schemas of the kinds it matches in its own account (built-ins, CRDs, bound resources), and the
// warnings are written to status.typeChecking with status.observedGeneration.
//
// It must not change a policy's spec and never enforces anything (pkg/admission/validatingpolicy
// does); it reads only the account the policy lives in.
package admissionpolicy

import (
	"context"
	"errors"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const controllerName = "admissionpolicy"

// Controller writes the type-checking status of every account's ValidatingAdmissionPolicies.
type Controller struct {
	policies *client.SharedInformer
	queue    *controller.Queue[string]
}

// New returns the controller. policies is the shared informer over every account's policies;
// New registers its handler, the caller runs it. Start runs the controller.
func New(f *client.Factory, policies *client.SharedInformer) (*Controller, error) {
	if f == nil || policies == nil {
		return nil, errors.New("failed to create the admissionpolicy controller: no client factory or policy informer")
	}
	r := &reconciler{
		get: func(key string) (*admissionregistrationv1.ValidatingAdmissionPolicy, bool) {
			obj, ok, err := policies.Store().GetByKey(key)
			if err != nil || !ok {
				return nil, false
			}
			p, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			return p, ok
		},
		check: func(id cluster.ID, p *admissionregistrationv1.ValidatingAdmissionPolicy) []admissionregistrationv1.ExpressionWarning {
			// The account's own discovery and OpenAPI: its CRDs and bound resources, not
			// another account's.
			d := f.Discovery(string(id))
			checker := &validating.TypeChecker{
				SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: d},
				RestMapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(d)),
			}
			return checker.Check(p)
		},
		updateStatus: func(ctx context.Context, id cluster.ID, p *admissionregistrationv1.ValidatingAdmissionPolicy) error {
			_, err := f.Kube(string(id)).AdmissionregistrationV1().ValidatingAdmissionPolicies().UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		},
	}
	c := &Controller{policies: policies}
	c.queue = controller.NewQueue(controller.Options[string]{
		Name: controllerName,
		Reconcile: func(ctx context.Context, key string) (time.Duration, error) {
			return 0, r.reconcile(ctx, key)
		},
	})
	policies.AddEventHandler(controller.ClusterKeyHandler(c.queue, false))
	return c, nil
}

// Start waits for the informer's cache and starts workers, which run until ctx is done.
func (c *Controller) Start(ctx context.Context, workers int) {
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.policies.HasSynced) {
		return
	}
	go c.queue.Run(ctx, workers)
}
