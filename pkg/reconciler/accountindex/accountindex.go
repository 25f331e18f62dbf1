// Package accountindex keeps the path → cluster ID index current from a watch on Account
// objects across all accounts, so requests resolve /clusters/<path> without reads.
//
// It must not write anything; it only feeds the index.
package accountindex

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	amclient "github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Run keeps idx current from a watch on Account objects across all accounts; client
// must address the wildcard cluster. It returns the informer's HasSynced.
func Run(ctx context.Context, idx *cluster.Index, client dynamic.Interface) (cache.InformerSynced, error) {
	set := func(obj interface{}) {
		if parent, name, id, ok := accountIdentity(obj); ok {
			idx.Set(parent, name, id)
		}
	}
	_, inf := amclient.NewInformer(amclient.ListWatch(client.Resource(corev1alpha1.SchemeGroupVersion.WithResource("accounts"))),
		&unstructured.Unstructured{}, cache.ResourceEventHandlerFuncs{
			AddFunc:    set,
			UpdateFunc: func(_, obj interface{}) { set(obj) },
			DeleteFunc: func(obj interface{}) {
				if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = tombstone.Obj
				}
				if _, _, id, ok := accountIdentity(obj); ok {
					idx.Delete(id)
				}
			},
		}, nil)
	go inf.RunWithContext(ctx)
	return inf.HasSynced, nil
}

// accountIdentity returns the parent cluster, name and cluster ID of an Account object.
func accountIdentity(obj interface{}) (parent cluster.ID, name string, id cluster.ID, ok bool) {
	u, isU := obj.(*unstructured.Unstructured)
	if !isU {
		return "", "", "", false
	}
	clusterID, _, _ := unstructured.NestedString(u.Object, "status", "clusterID")
	parentID := u.GetAnnotations()[corev1alpha1.ClusterAnnotation]
	if clusterID == "" || parentID == "" {
		return "", "", "", false
	}
	return cluster.ID(parentID), u.GetName(), cluster.ID(clusterID), true
}
