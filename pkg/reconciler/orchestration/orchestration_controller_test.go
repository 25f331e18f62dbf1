package orchestration

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
)

// TestContextsOf routes a change of an object to the contexts it concerns: those that name it,
// those with a selector in its account, and those with a selector over a subtree above it;
// not a selector without subtree above it, nor one of another group.
func TestContextsOf(t *testing.T) {
	t.Parallel()
	index := fakeIndex{"root": "r", "root:org": "org", "root:org:team": "team", "root:other": "other"}
	store := cache.NewIndexer(client.ClusterKey, cache.Indexers{
		byMember:   func(obj any) ([]string, error) { return memberKeys(index, obj), nil },
		bySelector: func(obj any) ([]string, error) { return selectKeys(index, obj), nil },
	})
	context := func(name string, members ...orchestrationv1alpha1.Member) {
		require.NoError(t, store.Add(&orchestrationv1alpha1.OrchestrationContext{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: "org"}},
			Spec:       orchestrationv1alpha1.OrchestrationContextSpec{Members: members},
		}))
	}
	selector := func(account, apiVersion string, subtree bool) orchestrationv1alpha1.Member {
		return orchestrationv1alpha1.Member{Name: "s", Selector: &orchestrationv1alpha1.MemberSelector{Account: account, APIVersion: apiVersion, Kind: "Gadget", Subtree: subtree}}
	}
	context("named", orchestrationv1alpha1.Member{Name: "x", Ref: &orchestrationv1alpha1.MemberReference{Account: "root:org:team", APIVersion: "example.com/v1", Kind: "Gadget", Namespace: "default", Name: "x"}})
	context("subtree", selector("", "example.com/v1", true))
	context("here", selector("", "example.com/v1", false))
	context("team", selector("root:org:team", "example.com/v1", false))
	context("elsewhere", selector("root:other", "example.com/v1", true))
	context("other-group", selector("", "other.com/v1", true))

	object := func(account, name string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Annotations: map[string]string{corev1alpha1.ClusterAnnotation: account}}}
	}
	keys := func(account, name string) []string {
		var out []string
		for _, k := range contextsOf(store, index, "example.com", object(account, name)) {
			_, _, n, err := client.SplitClusterKey(k)
			require.NoError(t, err)
			out = append(out, n)
		}
		return out
	}
	require.ElementsMatch(t, []string{"named", "team", "subtree"}, keys("team", "x"))
	require.ElementsMatch(t, []string{"team", "subtree"}, keys("team", "y"))
	require.ElementsMatch(t, []string{"subtree", "here"}, keys("org", "y"))
	require.ElementsMatch(t, []string{"elsewhere"}, keys("other", "y"))
	require.Empty(t, keys("r", "y"))
}
