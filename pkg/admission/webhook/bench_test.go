package webhook

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/utils/ptr"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

type noNamespaces struct{}

func (noNamespaces) Cached(cluster.ID, string) (*corev1.Namespace, bool) { return nil, false }

type paths map[cluster.ID]string

func (p paths) Lookup(id cluster.ID) (cluster.Entry, bool) {
	return cluster.Entry{ID: id, Path: p[id]}, p[id] != ""
}

// benchPlugin returns a plugin over a ten-level path below root whose root holds n inherited
// validating configurations (never called: they match secrets), and the deepest account.
func benchPlugin(b *testing.B, n int) (*Plugin, cluster.ID) {
	b.Helper()
	tr, names := tree{}, paths{"root": "root"}
	acc := cluster.ID("root")
	for range 10 {
		child := cluster.ID(string(acc) + "x")
		tr[child], names[child] = acc, names[acc]+":x"
		acc = child
	}
	x := NewIndex(tr)
	for i := range n {
		c := validatingConfig("root", fmt.Sprintf("c%d", i), true)
		c.Webhooks = []admissionregistrationv1.ValidatingWebhook{{Name: "h.hooks.example.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://hooks.example.com")},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}}}},
			SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{}, ObjectSelector: &metav1.LabelSelector{}}}
		x.ValidatingHandler().OnAdd(c, false)
	}
	return New(Config{Index: x, Accounts: names, Namespaces: noNamespaces{}, Synced: func() bool { return true }}), acc
}

// BenchmarkValidate measures the admission cost of a configmap create in an account ten levels
// deep with 0, 10 and 100 inherited webhook configurations that do not match it.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("configs=%d", n), func(b *testing.B) {
			p, acc := benchPlugin(b, n)
			ctx := cluster.WithCluster(context.Background(), acc)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "default"}}
			a := admission.NewAttributesRecord(cm, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "default", "cm",
				corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, &metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "u"})
			require.NoError(b, p.Validate(ctx, a, nil))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := p.Validate(ctx, a, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuild measures building an account's plugins, which the first request after any
// change of any configuration does, with 1 and 10 configurations that apply there.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("configs=%d", n), func(b *testing.B) {
			p, acc := benchPlugin(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.build(acc, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
