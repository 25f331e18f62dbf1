package core

import (
	"strings"
	"testing"

	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

const tlsType = string(corev1.SecretTypeTLS)

func newSecret(typ string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: objectMeta("s"), Type: corev1.SecretType(typ), Data: data}
}

func TestValidateSecret(t *testing.T) {
	t.Parallel()
	saToken := newSecret(string(corev1.SecretTypeServiceAccountToken), nil)
	saToken.Annotations = map[string]string{corev1.ServiceAccountNameKey: "default"}
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   []string
	}{
		{name: "opaque", secret: newSecret("Opaque", map[string][]byte{"a.b_c-d": []byte("x")})},
		{name: "custom type", secret: newSecret("example.com/thing", nil)},
		{name: "invalid key", secret: newSecret("Opaque", map[string][]byte{"a/b": nil}), want: []string{"data[a/b]"}},
		{name: "too large", secret: newSecret("Opaque", map[string][]byte{
			"a": []byte(strings.Repeat("x", maxSecretSize)), "b": []byte("x"),
		}), want: []string{"data"}},
		{name: "exactly the limit", secret: newSecret("Opaque", map[string][]byte{"a": []byte(strings.Repeat("x", maxSecretSize))})},
		{name: "tls", secret: newSecret(tlsType, map[string][]byte{"tls.crt": nil, "tls.key": nil})},
		{name: "tls without key", secret: newSecret(tlsType, map[string][]byte{"tls.crt": nil}), want: []string{"data[tls.key]"}},
		{name: "tls empty", secret: newSecret(tlsType, nil), want: []string{"data[tls.crt]", "data[tls.key]"}},
		{name: "dockerconfigjson", secret: newSecret(string(corev1.SecretTypeDockerConfigJson), map[string][]byte{
			".dockerconfigjson": []byte(`{"auths":{}}`),
		})},
		{name: "dockerconfigjson missing", secret: newSecret(string(corev1.SecretTypeDockerConfigJson), nil),
			want: []string{"data[.dockerconfigjson]"}},
		{name: "dockerconfigjson not json", secret: newSecret(string(corev1.SecretTypeDockerConfigJson), map[string][]byte{
			".dockerconfigjson": []byte("{"),
		}), want: []string{"data[.dockerconfigjson]"}},
		{name: "dockercfg", secret: newSecret(string(corev1.SecretTypeDockercfg), map[string][]byte{".dockercfg": []byte("{}")})},
		{name: "dockercfg missing", secret: newSecret(string(corev1.SecretTypeDockercfg), nil), want: []string{"data[.dockercfg]"}},
		{name: "service account token", secret: saToken},
		{name: "service account token without annotation", secret: newSecret(string(corev1.SecretTypeServiceAccountToken), nil),
			want: []string{"metadata.annotations[kubernetes.io/service-account.name]"}},
		{name: "basic auth with username", secret: newSecret(string(corev1.SecretTypeBasicAuth), map[string][]byte{"username": nil})},
		{name: "basic auth with password", secret: newSecret(string(corev1.SecretTypeBasicAuth), map[string][]byte{"password": nil})},
		{name: "basic auth empty", secret: newSecret(string(corev1.SecretTypeBasicAuth), nil),
			want: []string{"data[username]", "data[password]"}},
		{name: "ssh auth", secret: newSecret(string(corev1.SecretTypeSSHAuth), map[string][]byte{"ssh-privatekey": []byte("k")})},
		{name: "ssh auth empty key", secret: newSecret(string(corev1.SecretTypeSSHAuth), map[string][]byte{"ssh-privatekey": nil}),
			want: []string{"data[ssh-privatekey]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateSecret(tc.secret)))
		})
	}
}

func TestValidateSecretUpdate(t *testing.T) {
	t.Parallel()
	immutable := func(s *corev1.Secret, v *bool) *corev1.Secret {
		s.Immutable = v
		return s
	}
	data := map[string][]byte{"a": []byte("1")}
	tests := []struct {
		name     string
		obj, old *corev1.Secret
		want     []string
	}{
		{name: "same type", obj: newSecret("Opaque", data), old: newSecret("Opaque", nil)},
		{name: "type changed", obj: newSecret("example.com/x", nil), old: newSecret("Opaque", nil), want: []string{"type"}},
		{name: "still validates", obj: newSecret("Opaque", map[string][]byte{"a/b": nil}), old: newSecret("Opaque", nil),
			want: []string{"data[a/b]"}},
		{name: "mutable data changed", obj: newSecret("Opaque", data), old: immutable(newSecret("Opaque", nil), new(false))},
		{name: "immutable unchanged", obj: immutable(newSecret("Opaque", data), new(true)),
			old: immutable(newSecret("Opaque", data), new(true))},
		{name: "immutable data changed", obj: immutable(newSecret("Opaque", nil), new(true)),
			old: immutable(newSecret("Opaque", data), new(true)), want: []string{"data"}},
		{name: "immutable unset", obj: newSecret("Opaque", data), old: immutable(newSecret("Opaque", data), new(true)),
			want: []string{"immutable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateSecretUpdate(tc.obj, tc.old)))
		})
	}
}

func TestPrepareSecret(t *testing.T) {
	t.Parallel()
	s := newSecret("", map[string][]byte{"a": []byte("1"), "b": []byte("2")})
	s.StringData = map[string]string{"b": "two", "c": "three"}
	prepareSecret(s)
	require.Equal(t, corev1.SecretTypeOpaque, s.Type)
	require.Nil(t, s.StringData)
	require.Equal(t, map[string][]byte{"a": []byte("1"), "b": []byte("two"), "c": []byte("three")}, s.Data)

	s = newSecret(tlsType, nil)
	s.StringData = map[string]string{"tls.crt": "c"}
	prepareSecret(s)
	require.Equal(t, corev1.SecretTypeTLS, s.Type)
	require.Equal(t, map[string][]byte{"tls.crt": []byte("c")}, s.Data)
}

func TestSecretAttrs(t *testing.T) {
	t.Parallel()
	s := newSecret(tlsType, nil)
	s.Labels = map[string]string{"app": "x"}
	l, f, err := secretAttrs(s)
	require.NoError(t, err)
	require.Equal(t, "x", l.Get("app"))
	require.Equal(t, fields.Set{"metadata.name": "s", "metadata.namespace": "default", "type": tlsType}, f)

	_, _, err = secretAttrs(&corev1.ConfigMap{})
	require.Error(t, err)
}
