// Package accountindex keeps the path → cluster ID index current from a watch on Account
// objects across all accounts, so requests resolve /clusters/<path> without reads.
//
// It must not write anything; it only feeds the index.
package accountindex

import (
	"strings"

	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	amclient "github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Register keeps idx current from accounts, a shared informer over Account objects in all
// accounts.
func Register(idx *cluster.Index, accounts *amclient.SharedInformer) {
	set := func(obj interface{}) {
		acc, ok := obj.(*corev1alpha1.Account)
		if !ok {
			return
		}
		if parent, id, ok := accountIdentity(acc); ok {
			attrs := cluster.Attributes{
				Type: acc.Spec.Type, Phase: string(acc.Status.Phase), Owner: acc.Spec.Owner, Created: acc.CreationTimestamp.Time, Deleting: acc.DeletionTimestamp != nil,
				Shadow: shadowOf(acc),
			}
			if l := acc.Spec.Limits; l != nil {
				attrs.Limits = &cluster.Limits{MaxChildAccounts: l.MaxChildAccounts, MaxSubtreeAccounts: l.MaxSubtreeAccounts, MaxObjects: l.MaxObjects}
			}
			idx.Set(parent, acc.Name, id, attrs)
		}
	}
	accounts.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj interface{}) { set(obj) },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if acc, ok := obj.(*corev1alpha1.Account); ok {
				if _, id, ok := accountIdentity(acc); ok {
					idx.Delete(id)
				}
			}
		},
	})
}

// shadowOf returns whom a shadow account serves, nil for other accounts. The registry lets
// only the platform set the marks it reads.
func shadowOf(acc *corev1alpha1.Account) *cluster.Shadow {
	org := acc.Labels[corev1alpha1.ConsumerOrgLabel]
	if acc.Spec.Type != corev1alpha1.TypeShadow || org == "" {
		return nil
	}
	s := &cluster.Shadow{ConsumerOrg: cluster.ID(org)}
	if exports := acc.Annotations[corev1alpha1.ServiceExportsAnnotation]; exports != "" {
		s.Exports = strings.Split(exports, ",")
	}
	if plans := acc.Annotations[corev1alpha1.ServicePlansAnnotation]; plans != "" {
		s.Plans = strings.Split(plans, ",")
	}
	return s
}

// accountIdentity returns the parent cluster and cluster ID of an Account object.
func accountIdentity(acc *corev1alpha1.Account) (parent, id cluster.ID, ok bool) {
	parentID := acc.Annotations[corev1alpha1.ClusterAnnotation]
	if acc.Status.ClusterID == "" || parentID == "" {
		return "", "", false
	}
	return cluster.ID(parentID), cluster.ID(acc.Status.ClusterID), true
}
