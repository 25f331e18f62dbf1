package garbagecollector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

func TestEventsKeepAccountsApart(t *testing.T) {
	t.Parallel()
	reconciled := make(chan objectKey, 1)
	c := &Controller{graph: newGraph()}
	c.queue = controller.NewQueue(controller.Options[objectKey]{Name: "test", Reconcile: func(_ context.Context, key objectKey) (time.Duration, error) {
		reconciled <- key
		return 0, nil
	}})
	meta := func(cluster, name string, refs ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", UID: "same-uid",
			Annotations:     map[string]string{corev1alpha1.ClusterAnnotation: cluster},
			OwnerReferences: refs,
		}}
	}
	ownerA := meta("a", "owner")
	ownerB := meta("b", "owner")
	ref := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "owner", UID: ownerA.UID}
	depB := meta("b", "dep", ref)
	depB.UID = "dep-uid"

	c.observe(widgets, ownerA)
	c.observe(widgets, ownerB)
	c.observe(configMaps, depB)
	require.Zero(t, c.queue.Len(), "account b's owner satisfies account b's dependent")

	c.forget(cache.DeletedFinalStateUnknown{Key: "a|ns/owner", Obj: ownerA})
	require.Zero(t, c.queue.Len(), "deleting account a's owner leaves account b alone")

	c.forget(ownerB)
	require.Equal(t, 1, c.queue.Len())
	go c.queue.Run(t.Context(), 1)
	require.Equal(t, objectKey{cluster: "b", uid: "dep-uid"}, <-reconciled)
}
