// Package accountindex keeps the path → cluster ID index current from a watch on Account
// objects across all accounts, so requests resolve /clusters/<path> without reads.
//
// It must not write anything; it only feeds the index.
package accountindex

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	amclient "github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Register keeps idx current from accounts, a shared informer over Account objects in all
// accounts.
func Register(idx *cluster.Index, accounts *amclient.SharedInformer) {
	set := func(obj interface{}) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		if parent, name, id, ok := accountIdentity(u); ok {
			typ, _, _ := unstructured.NestedString(u.Object, "spec", "type")
			owner, _, _ := unstructured.NestedString(u.Object, "spec", "owner")
			idx.Set(parent, name, id, cluster.Attributes{
				Type: typ, Owner: owner, Created: u.GetCreationTimestamp().Time, Deleting: u.GetDeletionTimestamp() != nil,
			})
		}
	}
	accounts.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj interface{}) { set(obj) },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if u, ok := obj.(*unstructured.Unstructured); ok {
				if _, _, id, ok := accountIdentity(u); ok {
					idx.Delete(id)
				}
			}
		},
	})
}

// accountIdentity returns the parent cluster, name and cluster ID of an Account object.
func accountIdentity(u *unstructured.Unstructured) (parent cluster.ID, name string, id cluster.ID, ok bool) {
	clusterID, _, _ := unstructured.NestedString(u.Object, "status", "clusterID")
	parentID := u.GetAnnotations()[corev1alpha1.ClusterAnnotation]
	if clusterID == "" || parentID == "" {
		return "", "", "", false
	}
	return cluster.ID(parentID), u.GetName(), cluster.ID(clusterID), true
}
