package orchestration

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	metadatafake "k8s.io/client-go/metadata/fake"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

func configMap(name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Annotations: map[string]string{corev1alpha1.ClusterAnnotation: "acc", "big": "dropped"}},
	}
}

// TestSources runs a source over a fake wildcard: it reports the objects that contexts name,
// and only them, including the deletion of one that was not named when it was listed, and
// stops when no context needs it.
func TestSources(t *testing.T) {
	t.Parallel()
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	scheme := metadatafake.NewTestScheme()
	scheme.AddKnownTypeWithName(gvr.GroupVersion().WithKind("ConfigMap"), &metav1.PartialObjectMetadata{})
	scheme.AddKnownTypeWithName(gvr.GroupVersion().WithKind("ConfigMapList"), &metav1.PartialObjectMetadataList{})
	fake := metadatafake.NewSimpleMetadataClient(scheme, configMap("named"), configMap("other"), configMap("later"))
	var mu sync.Mutex
	named := map[string]bool{"named": true}
	var seen []string
	s := newSources()
	s.newListWatch = func(key sourceKey, version string) metadata.ResourceInterface {
		require.Equal(t, "v1", version)
		return fake.Resource(gvr.GroupVersion().WithResource(key.resource())).Namespace("")
	}
	s.referenced = func(group string, m *metav1.PartialObjectMetadata) bool {
		mu.Lock()
		defer mu.Unlock()
		return group == "" && named[m.Name]
	}
	s.changed = func(_ string, m *metav1.PartialObjectMetadata) {
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, map[string]string{corev1alpha1.ClusterAnnotation: "acc"}, m.Annotations, "trimmed")
		seen = append(seen, m.Name)
	}
	seenNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
	key := sourceKey{gr: gvr.GroupResource()}
	s.set("ctx-a", map[sourceKey]string{key: "v1"})
	s.set("ctx-b", map[sourceKey]string{key: "v1"})
	s.start(t.Context())
	require.Equal(t, 1, s.count())
	require.Eventually(t, func() bool { return len(seenNow()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"named"}, seenNow())

	// "later" was not named when listed; named now, its deletion is reported. (The fake does
	// not replay from a resource version: wait for the watch.)
	require.Eventually(t, func() bool {
		for _, a := range fake.Actions() {
			if a.GetVerb() == "watch" {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	named["later"] = true
	mu.Unlock()
	require.NoError(t, fake.Tracker().Delete(gvr, "default", "later"))
	require.Eventually(t, func() bool { return len(seenNow()) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"named", "later"}, seenNow())
	require.NoError(t, fake.Tracker().Delete(gvr, "default", "other"))

	// The source runs while some context needs it.
	s.set("ctx-a", nil)
	require.Equal(t, 1, s.count())
	s.set("ctx-b", nil)
	require.Zero(t, s.count())
	require.Equal(t, []string{"named", "later"}, seenNow(), "objects no context names are never reported")
}
