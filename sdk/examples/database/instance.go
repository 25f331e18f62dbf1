package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/sdk/provider"
)

// conflictRetry is when a ServiceInstance whose status report lost a race is looked at again.
const conflictRetry = time.Second

// instanceReconciler deploys the dedicated instance of a Dedicated managed service for each
// consumer organisation: when a consumer account's binding names its shadow account, it finds
// the ServiceInstance the platform created there and reports it Ready with its endpoint (this
// example deploys nothing real).
type instanceReconciler struct {
	export  string
	service func(ctx context.Context, c multicluster.ClusterName) (provider.Service, bool, error)
	shadow  func(ctx context.Context, id string) (client.Client, error)
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
