package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// BenchmarkAuthenticatedGet measures a real GET of a ConfigMap over HTTPS with each kind of
// credential, so the cost of token authentication shows against the admin's client
// certificate: go test ./test/e2e -run '^$' -bench AuthenticatedGet.
func BenchmarkAuthenticatedGet(b *testing.B) {
	acc := server.NewAccount(b, "root")
	framework.Kubectl(b, acc.Kubeconfig, "create", "configmap", "cfg")
	framework.Kubectl(b, acc.Kubeconfig, "create", "serviceaccount", "bot")
	saToken := strings.TrimSpace(framework.Kubectl(b, acc.Kubeconfig, "create", "token", "bot"))
	for _, bc := range []struct {
		name string
		cfg  *rest.Config
	}{
		{"client certificate", acc.Config},
		{"static token", server.TokenConfig(acc.Path, aliceToken)},
		{"service account token", server.TokenConfig(acc.Path, saToken)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := rest.CopyConfig(bc.cfg)
			cfg.QPS, cfg.Burst = -1, 0
			kube, err := kubernetes.NewForConfig(cfg)
			require.NoError(b, err)
			cms := kube.CoreV1().ConfigMaps("default")
			for b.Loop() {
				if _, err := cms.Get(b.Context(), "cfg", metav1.GetOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
