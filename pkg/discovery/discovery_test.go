package discovery

import (
	"testing"

	"github.com/stretchr/testify/require"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFilterBuiltin(t *testing.T) {
	t.Parallel()
	group := func(name string, versions map[string][]string) apidiscoveryv2.APIGroupDiscovery {
		g := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, v := range []string{"v1", "v1alpha1"} {
			if rs, ok := versions[v]; ok {
				av := apidiscoveryv2.APIVersionDiscovery{Version: v}
				for _, r := range rs {
					av.Resources = append(av.Resources, apidiscoveryv2.APIResourceDiscovery{Resource: r})
				}
				g.Versions = append(g.Versions, av)
			}
		}
		return g
	}
	builtin := []apidiscoveryv2.APIGroupDiscovery{
		group("rbac.authorization.k8s.io", map[string][]string{"v1": {"roles", "clusterroles"}}),
		group("apis.accountmesh.io", map[string][]string{"v1alpha1": {"apiexports", "apibindings"}}),
		group("coordination.k8s.io", map[string][]string{"v1": {"leases"}, "v1alpha1": {"leasecandidates"}}),
	}
	for _, tc := range []struct {
		name string
		keep func(group, resource string) bool
		want []apidiscoveryv2.APIGroupDiscovery
	}{
		{"everything without a filter", nil, builtin},
		{"kept resources only, emptied versions and groups dropped", func(g, r string) bool {
			return g == "apis.accountmesh.io" && r == "apibindings" || r == "leases"
		}, []apidiscoveryv2.APIGroupDiscovery{
			group("apis.accountmesh.io", map[string][]string{"v1alpha1": {"apibindings"}}),
			group("coordination.k8s.io", map[string][]string{"v1": {"leases"}}),
		}},
		{"nothing kept", func(string, string) bool { return false }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, filterBuiltin(builtin, tc.keep))
		})
	}
	require.Len(t, builtin[0].Versions[0].Resources, 2, "the built-in documents are not changed")
}
