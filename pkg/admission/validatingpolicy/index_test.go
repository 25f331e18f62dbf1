package validatingpolicy

import (
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// tree is root ← org ← team, and org ← sibling.
type tree map[cluster.ID]cluster.ID

func (t tree) Parent(id cluster.ID) (cluster.ID, bool) {
	p, ok := t[id]
	return p, ok
}

var testTree = tree{"org": "root", "team": "org", "sibling": "org"}

func objectMeta(id cluster.ID, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, UID: types.UID(string(id) + "/" + name), Generation: 1, Labels: labels,
		Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(id)}}
}

func testPolicy(id cluster.ID, name string) *admissionregistrationv1.ValidatingAdmissionPolicy {
	return &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: objectMeta(id, name, nil),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{Validations: []admissionregistrationv1.Validation{{Expression: "true"}}}}
}

func testBinding(id cluster.ID, name, policy string, inherit bool) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	var labels map[string]string
	if inherit {
		labels = map[string]string{corev1alpha1.InheritLabel: "true"}
	}
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: objectMeta(id, name, labels),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy}}
}

// hookNames returns <account of the policy>/<policy>:<bindings> for each hook.
func hookNames(x *Index, id cluster.ID) []string {
	var out []string
	for _, h := range x.Hooks(id) {
		s := h.Policy.Annotations[corev1alpha1.ClusterAnnotation] + "/" + h.Policy.Name + ":"
		for _, b := range h.Bindings {
			s += b.Name + ","
		}
		out = append(out, s)
	}
	return out
}

func TestIndexInheritance(t *testing.T) {
	t.Parallel()
	x := NewIndex(testTree, nil)
	ph, bh := x.PolicyHandler(), x.BindingHandler()
	for _, p := range []*admissionregistrationv1.ValidatingAdmissionPolicy{
		testPolicy("org", "p"), testPolicy("team", "p"), testPolicy("sibling", "p"),
	} {
		ph.OnAdd(p, true)
	}
	for _, b := range []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		testBinding("org", "inherited", "p", true),
		testBinding("org", "also-inherited", "p", true),
		testBinding("org", "local", "p", false),
		testBinding("team", "inherited", "p", false), // same name: shadows nothing
		testBinding("team", "dangling", "missing", true),
		testBinding("sibling", "sibling-wide", "p", true),
	} {
		bh.OnAdd(b, true)
	}
	require.Equal(t, []string{"team/p:inherited,", "org/p:also-inherited,inherited,"}, hookNames(x, "team"),
		"the team's own bindings, then the org's inherited ones, grouped per policy where each lives")
	require.Equal(t, []string{"org/p:also-inherited,inherited,local,"}, hookNames(x, "org"))
	require.Empty(t, hookNames(x, "root"), "nothing flows up")
	require.Equal(t, []string{"sibling/p:sibling-wide,", "org/p:also-inherited,inherited,"}, hookNames(x, "sibling"))

	effective := x.Effective("team")
	require.Len(t, effective, 4, "the dangling binding is listed, without policy")
	require.Nil(t, effective[0].Policy)
	require.Equal(t, cluster.ID("org"), effective[2].Account)
	require.True(t, effective[2].Inherited)

	// A change anywhere is seen; a status update keeps the compiled policy.
	first := x.Hooks("team")[1].Evaluator
	updated := testPolicy("org", "p")
	updated.Status.ObservedGeneration = 1
	ph.OnUpdate(nil, updated)
	require.Same(t, first, x.Hooks("team")[1].Evaluator)
	bh.OnDelete(testBinding("org", "inherited", "p", true))
	require.Equal(t, []string{"team/p:inherited,", "org/p:also-inherited,"}, hookNames(x, "team"))
	relabelled := testBinding("org", "also-inherited", "p", false)
	bh.OnUpdate(nil, relabelled)
	require.Equal(t, []string{"team/p:inherited,"}, hookNames(x, "team"))
}
