package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// BenchmarkPolicyCreate measures ConfigMap creates through client-go in the leaf of a
// 10-account chain with 10 inherited policies along it (one per ancestor, each matching the
// request and evaluating one CEL validation), and in an account without policies, in the same
// run.
//
//	go test ./test/e2e -run '^$' -bench PolicyCreate -benchtime 2000x
func BenchmarkPolicyCreate(b *testing.B) {
	const depth = 10
	plain := server.NewAccount(b, "root")
	top := server.NewAccount(b, "root")
	leaf, path := top, top.Path
	// One policy per account of the chain, the leaf's own included: a policy that refuses
	// ConfigMaps named forbidden-*, which the benchmark's are not.
	policy := func(acc *framework.Account, i int) {
		framework.KubectlStdin(b, acc.Kubeconfig, strings.Replace(denyConfigMaps(fmt.Sprintf("p%d", i), true),
			"startsWith('probe-')", "startsWith('forbidden-')", 1), "apply", "-f", "-")
	}
	policy(top, 1)
	for i := 1; i < depth; i++ {
		leaf = server.CreateAccount(b, path, fmt.Sprintf("l%d", i))
		path = leaf.Path
		policy(leaf, i+1)
	}
	framework.Eventually(b, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := leaf.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: framework.RandomName("forbidden-")}}, metav1.CreateOptions{})
		return err != nil && strings.Contains(err.Error(), "p10 says no"), nil
	}, "the policies apply in the leaf")
	for _, bc := range []struct {
		name string
		acc  *framework.Account
	}{{"inherited=0", plain}, {"inherited=10", leaf}} {
		b.Run(bc.name, func(b *testing.B) {
			kube := unthrottledKube(b, bc.acc.Config)
			i := 0
			start := time.Now()
			for b.Loop() {
				i++
				_, err := kube.CoreV1().ConfigMaps("default").Create(b.Context(), &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d-%s", i, framework.RandomName(""))},
				}, metav1.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(i)/time.Since(start).Seconds(), "creates/s")
		})
	}
}
