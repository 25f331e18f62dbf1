package rbac

import (
	"testing"

	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateRules(t *testing.T) {
	t.Parallel()
	resourceRule := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	urlRule := rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}
	tests := []struct {
		name       string
		rule       rbacv1.PolicyRule
		namespaced bool
		want       []string
	}{
		{name: "resource rule in role", rule: resourceRule, namespaced: true},
		{name: "resource rule in cluster role", rule: resourceRule},
		{name: "no verbs", rule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}}, namespaced: true,
			want: []string{"rules[0].verbs"}},
		{name: "no api groups or resources", rule: rbacv1.PolicyRule{Verbs: []string{"get"}}, namespaced: true,
			want: []string{"rules[0].apiGroups", "rules[0].resources"}},
		{name: "non-resource URLs in cluster role", rule: urlRule},
		{name: "non-resource URLs in role", rule: urlRule, namespaced: true, want: []string{"rules[0].nonResourceURLs"}},
		{name: "non-resource URLs mixed with resources", rule: rbacv1.PolicyRule{
			Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, Resources: []string{"pods"},
		}, want: []string{"rules[0].nonResourceURLs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateRules([]rbacv1.PolicyRule{tc.rule}, tc.namespaced)))
		})
	}
}

func TestValidateClusterRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		role *rbacv1.ClusterRole
		want []string
	}{
		{name: "rules", role: &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}}}}},
		{name: "invalid rule", role: &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}}}},
			want: []string{"rules[0].verbs"}},
		{name: "aggregation", role: &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"example.com/aggregate-to-view": "true"}}},
		}}},
		{name: "aggregation without selectors", role: &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
			want: []string{"aggregationRule.clusterRoleSelectors"}},
		{name: "aggregation with invalid selector", role: &rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"not a key": "true"}}},
		}}, want: []string{"aggregationRule.clusterRoleSelectors[0].matchLabels"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateClusterRole(tc.role)))
		})
	}
}
