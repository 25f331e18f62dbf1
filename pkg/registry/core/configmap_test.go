package core

import (
	"strings"
	"testing"

	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestValidateConfigMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		want []string
	}{
		{name: "valid", cm: &corev1.ConfigMap{Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": nil}}},
		{name: "invalid key", cm: &corev1.ConfigMap{Data: map[string]string{"a/b": ""}}, want: []string{"data[a/b]"}},
		{name: "duplicate key", cm: &corev1.ConfigMap{Data: map[string]string{"a": ""}, BinaryData: map[string][]byte{"a": nil}},
			want: []string{"data[a]"}},
		{name: "too large", cm: &corev1.ConfigMap{Data: map[string]string{"a": strings.Repeat("x", maxConfigMapSize)},
			BinaryData: map[string][]byte{"b": []byte("x")}}, want: []string{"data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateConfigMap(tc.cm)))
		})
	}
}

func TestValidateConfigMapUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		obj, old *corev1.ConfigMap
		want     []string
	}{
		{name: "mutable", obj: &corev1.ConfigMap{Data: map[string]string{"a": "2"}}, old: &corev1.ConfigMap{Data: map[string]string{"a": "1"}}},
		{name: "immutable unchanged",
			obj: &corev1.ConfigMap{Immutable: new(true), Data: map[string]string{"a": "1"}},
			old: &corev1.ConfigMap{Immutable: new(true), Data: map[string]string{"a": "1"}}},
		{name: "immutable changed",
			obj:  &corev1.ConfigMap{Data: map[string]string{"a": "2"}, BinaryData: map[string][]byte{"b": nil}},
			old:  &corev1.ConfigMap{Immutable: new(true), Data: map[string]string{"a": "1"}},
			want: []string{"immutable", "data", "binaryData"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateConfigMapUpdate(t.Context(), tc.obj, tc.old)))
		})
	}
}
