package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/sdk/provider"
)

// conflictRetry is when a ServiceInstance whose status report lost a race is looked at again.
const conflictRetry = time.Second

// instanceFinalizer holds a deleted ServiceInstance until the provider has torn its dedicated
// instance down. The platform deletes an organisation's ServiceInstances before the shadow
// account's content, so the customer's state is still there while it does.
const instanceFinalizer = "db.example.com/dedicated-instance"

// instanceReconciler deploys the dedicated instance of a Dedicated managed service for each
// consumer organisation: when a consumer account's binding names its shadow account, it finds
// the ServiceInstance the platform created there and reports it Ready with its endpoint (this
// example deploys nothing real).
type instanceReconciler struct {
	export  string
	service func(ctx context.Context, c multicluster.ClusterName) (provider.Service, bool, error)
	shadow  func(ctx context.Context, id string) (client.Client, error)
	// teardowns tears down the instances of the shadow accounts it watches.
	teardowns *teardowns
}

// Reconcile reports the organisation's ServiceInstance Ready once it exists; the binding's
// next status change (InstanceReady) queues the account again until then.
func (r *instanceReconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	svc, ok, err := r.service(ctx, req.ClusterName)
	if err != nil || !ok || svc.ShadowAccount == nil {
		return reconcile.Result{}, err
	}
	sc, err := r.shadow(ctx, svc.ShadowAccount.ClusterID)
	if err != nil {
		return reconcile.Result{}, err
	}
	si := &apisv1alpha1.ServiceInstance{}
	if err := sc.Get(ctx, client.ObjectKey{Name: r.export}, si); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("failed to read the ServiceInstance of account %s: %w", req.ClusterName, err)
	}
	if si.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	if err := r.teardowns.watch(ctx, svc.ShadowAccount.ClusterID); err != nil {
		return reconcile.Result{}, err
	}
	if controllerutil.AddFinalizer(si, instanceFinalizer) {
		if err := sc.Update(ctx, si); err != nil {
			if apierrors.IsConflict(err) {
				return reconcile.Result{RequeueAfter: conflictRetry}, nil
			}
			return reconcile.Result{}, fmt.Errorf("failed to add the finalizer of the ServiceInstance of account %s: %w", req.ClusterName, err)
		}
	}
	status := si.Status.DeepCopy()
	status.Endpoint = r.export + "." + si.Spec.Consumer.ClusterID + ".dedicated.db.example.com:5432"
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: apisv1alpha1.ServiceInstanceConditionReady, Status: metav1.ConditionTrue,
		Reason: "Deployed", Message: "the dedicated instance serves at " + status.Endpoint, ObservedGeneration: si.Generation})
	if equality.Semantic.DeepEqual(&si.Status, status) {
		return reconcile.Result{}, nil
	}
	si.Status = *status
	if err := sc.Status().Update(ctx, si); err != nil {
		if apierrors.IsConflict(err) {
			return reconcile.Result{RequeueAfter: conflictRetry}, nil
		}
		return reconcile.Result{}, fmt.Errorf("failed to report on the ServiceInstance of account %s: %w", req.ClusterName, err)
	}
	klog.FromContext(ctx).Info("Deployed dedicated instance", "cluster", req.ClusterName, "organization", si.Spec.Consumer.ClusterID, "endpoint", status.Endpoint)
	return reconcile.Result{}, nil
}

// teardowns watches the ServiceInstances of the shadow accounts the provider has deployed
// into, and tears down the dedicated instance of each one being deleted before releasing it.
// A shadow account's ServiceInstances are deleted when its organisation stops binding the
// service, when its consumer accounts are no longer engaged, so they are watched there.
type teardowns struct {
	scheme *runtime.Scheme
	config func(id string) *rest.Config
	shadow func(ctx context.Context, id string) (client.Client, error)
	// queue holds shadow account cluster ID (as namespace) and ServiceInstance name.
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]

	mu      sync.Mutex
	watched map[string]bool
}

func newTeardowns(scheme *runtime.Scheme, config func(id string) *rest.Config, shadow func(ctx context.Context, id string) (client.Client, error)) *teardowns {
	return &teardowns{scheme: scheme, config: config, shadow: shadow, watched: map[string]bool{},
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]())}
}

// watch starts, once per shadow account, a cache of its ServiceInstances that queues the
// deleted ones. It runs until ctx, the manager's, is done.
func (t *teardowns) watch(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watched[id] {
		return nil
	}
	c, err := cache.New(t.config(id), cache.Options{Scheme: t.scheme})
	if err != nil {
		return fmt.Errorf("failed to create the cache of shadow account %s: %w", id, err)
	}
	inf, err := c.GetInformer(ctx, &apisv1alpha1.ServiceInstance{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("failed to watch the ServiceInstances of shadow account %s: %w", id, err)
	}
	queue := func(obj interface{}) {
		if si, ok := obj.(*apisv1alpha1.ServiceInstance); ok && si.DeletionTimestamp != nil {
			t.queue.Add(types.NamespacedName{Namespace: id, Name: si.Name})
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: queue, UpdateFunc: func(_, obj interface{}) { queue(obj) }}); err != nil {
		return fmt.Errorf("failed to watch the ServiceInstances of shadow account %s: %w", id, err)
	}
	go func() {
		if err := c.Start(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Watch of ServiceInstances failed", "shadowAccount", id)
		}
	}()
	t.watched[id] = true
	return nil
}

// run works the queue until ctx is done.
func (t *teardowns) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		t.queue.ShutDown()
	}()
	for {
		key, shutdown := t.queue.Get()
		if shutdown {
			return
		}
		if err := t.teardown(ctx, key); err != nil {
			klog.FromContext(ctx).Error(err, "Teardown failed", "shadowAccount", key.Namespace, "instance", key.Name)
			t.queue.AddRateLimited(key)
		} else {
			t.queue.Forget(key)
		}
		t.queue.Done(key)
	}
}

// teardown tears down the dedicated instance of a deleted ServiceInstance (this example has
// nothing real to remove) and releases it.
func (t *teardowns) teardown(ctx context.Context, key types.NamespacedName) error {
	sc, err := t.shadow(ctx, key.Namespace)
	if err != nil {
		return err
	}
	si := &apisv1alpha1.ServiceInstance{}
	if err := sc.Get(ctx, client.ObjectKey{Name: key.Name}, si); err != nil {
		return client.IgnoreNotFound(err)
	}
	if si.DeletionTimestamp == nil || !controllerutil.RemoveFinalizer(si, instanceFinalizer) {
		return nil
	}
	if err := sc.Update(ctx, si); err != nil {
		return client.IgnoreNotFound(err)
	}
	klog.FromContext(ctx).Info("Tore down dedicated instance", "shadowAccount", key.Namespace, "organization", si.Spec.Consumer.ClusterID)
	return nil
}
