package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// tree is root > org > {team, sibling}.
type tree map[cluster.ID]cluster.ID

func (t tree) Parent(id cluster.ID) (cluster.ID, bool) {
	p, ok := t[id]
	return p, ok
}

func validatingConfig(acc cluster.ID, name string, inherit bool) *admissionregistrationv1.ValidatingWebhookConfiguration {
	c := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name,
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(acc)}}}
	if inherit {
		c.Labels = map[string]string{corev1alpha1.InheritLabel: "true"}
	}
	return c
}

// TestEffective: an account's own configurations, then those its ancestors label to flow
// down, nearest first; never a sibling's or a descendant's, nor an ancestor's unlabelled ones.
func TestEffective(t *testing.T) {
	t.Parallel()
	x := NewIndex(tree{"org": "root", "team": "org", "sibling": "org"})
	h := x.ValidatingHandler()
	for _, c := range []*admissionregistrationv1.ValidatingWebhookConfiguration{
		validatingConfig("root", "platform", true),
		validatingConfig("root", "root-only", false),
		validatingConfig("org", "org-wide", true),
		validatingConfig("org", "org-only", false),
		validatingConfig("team", "b-team", false),
		validatingConfig("team", "a-team", true),
		validatingConfig("sibling", "sibling", true),
	} {
		h.OnAdd(c, false)
	}
	names := func(id cluster.ID) []string {
		v, m := x.Effective(id)
		require.Empty(t, m)
		var out []string
		for _, s := range v {
			out = append(out, string(s.Account)+"/"+s.Object.Name)
			require.Equal(t, s.Account != id, s.Inherited)
		}
		return out
	}
	require.Equal(t, []string{"team/a-team", "team/b-team", "org/org-wide", "root/platform"}, names("team"))
	require.Equal(t, []string{"sibling/sibling", "org/org-wide", "root/platform"}, names("sibling"))
	require.Equal(t, []string{"org/org-only", "org/org-wide", "root/platform"}, names("org"))

	gen := x.Generation()
	h.OnDelete(validatingConfig("org", "org-wide", true))
	require.Greater(t, x.Generation(), gen)
	require.Equal(t, []string{"team/a-team", "team/b-team", "root/platform"}, names("team"))
}
