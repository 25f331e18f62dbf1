package validatingpolicy

import (
	"context"
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	registry "github.com/accountmesh/accountmesh/pkg/registry/admissionregistration"
)

// namespaces is a cache that knows every namespace.
type namespaces struct{}

func (namespaces) Cached(_ cluster.ID, name string) (*corev1.Namespace, bool) {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, true
}

// chain returns a path of depth accounts below root, a0 (top) … a<depth-1> (the leaf).
func chain(depth int) (tree, []cluster.ID) {
	t := tree{}
	ids := make([]cluster.ID, depth)
	parent := cluster.ID("root")
	for i := range ids {
		ids[i] = cluster.ID(fmt.Sprint("a", i))
		t[ids[i]] = parent
		parent = ids[i]
	}
	return t, ids
}

// BenchmarkAdmission measures the admission cost of a ConfigMap create in the leaf of a
// 10-level path with n inherited policies spread over its ancestors. Matching policies each
// evaluate one CEL validation that passes (the worst case: every policy runs); the others match
// Secrets, so only their match constraints are checked.
func BenchmarkAdmission(b *testing.B) {
	for _, bc := range []struct {
		n        int
		resource string
	}{{0, "configmaps"}, {10, "configmaps"}, {100, "configmaps"}, {10, "secrets"}, {100, "secrets"}} {
		n := bc.n
		b.Run(fmt.Sprintf("inherited=%d/matching=%v", n, bc.resource == "configmaps"), func(b *testing.B) {
			t, ids := chain(10)
			x := NewIndex(t, nil)
			ph, bh := x.PolicyHandler(), x.BindingHandler()
			for i := range n {
				acc := ids[i%(len(ids)-1)] // every ancestor of the leaf
				p := testPolicy(acc, fmt.Sprint("p", i))
				p.Spec.MatchConstraints = &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{bc.resource}},
					},
				}}}
				p.Spec.Validations = []admissionregistrationv1.Validation{{Expression: "object.metadata.name != 'forbidden'"}}
				registry.DefaultPolicy(&p.Spec)
				ph.OnAdd(p, true)
				binding := testBinding(acc, p.Name, p.Name, true)
				binding.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}
				bh.OnAdd(binding, true)
			}
			plugin := New(x, nil, nil, namespaces{}, nil, func() bool { return true })
			leaf := ids[len(ids)-1]
			ctx := cluster.WithCluster(context.Background(), leaf)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "default"}}
			attrs := admission.NewAttributesRecord(cm, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "default", "cm",
				corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, &metav1.CreateOptions{}, false,
				&user.DefaultInfo{Name: "alice", Groups: []string{user.AllAuthenticated}})
			o := admission.NewObjectInterfacesFromScheme(scheme.Scheme)
			if err := plugin.Validate(ctx, attrs, o); err != nil {
				b.Fatal(err)
			}
			if got := len(x.Hooks(leaf)); got != n {
				b.Fatalf("%d hooks, want %d", got, n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := plugin.Validate(ctx, attrs, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
