package core

import (
	"testing"

	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestValidateServiceAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sa   *corev1.ServiceAccount
		want []string
	}{
		{name: "empty", sa: &corev1.ServiceAccount{}},
		{name: "named references", sa: &corev1.ServiceAccount{
			Secrets:          []corev1.ObjectReference{{Name: "token"}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}},
		}},
		{name: "unnamed secret", sa: &corev1.ServiceAccount{
			Secrets: []corev1.ObjectReference{{Name: "token"}, {Namespace: "default"}},
		}, want: []string{"secrets[1].name"}},
		{name: "unnamed image pull secret", sa: &corev1.ServiceAccount{
			ImagePullSecrets: []corev1.LocalObjectReference{{}},
		}, want: []string{"imagePullSecrets[0].name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateServiceAccount(tc.sa)))
		})
	}
}
