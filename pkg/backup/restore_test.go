package backup

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRewritePath(t *testing.T) {
	t.Parallel()
	rs := &restorer{
		res:   &Restored{Accounts: map[string]string{"root:acme": "root:copy", "root:acme:provider": "root:copy:provider"}},
		paths: map[string]string{"id-acme": "root:acme", "id-provider": "root:acme:provider"},
	}
	for _, tc := range []struct {
		ref, want string
		inside    bool
	}{
		{"root:acme:provider", "root:copy:provider", true},
		{"id-provider", "root:copy:provider", true},
		{"root:acme", "root:copy", true},
		{"root:acme-other", "", false},
		{"root:other", "", false},
		{"id-other", "", false},
	} {
		got, inside := rs.rewritePath(tc.ref)
		require.Equal(t, tc.inside, inside, tc.ref)
		require.Equal(t, tc.want, got, tc.ref)
	}
}

func TestRewriteClaims(t *testing.T) {
	t.Parallel()
	rs := &restorer{hashes: map[string]string{"old": "new"}}
	o := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"permissionClaims": []any{
		map[string]any{"group": "a", "identityHash": "old"},
		map[string]any{"group": "b", "identityHash": "elsewhere"},
		map[string]any{"group": "", "resource": "configmaps"},
	}}}}
	require.True(t, rs.rewriteClaims(o))
	claims, _, _ := unstructured.NestedSlice(o.Object, "spec", "permissionClaims")
	require.Equal(t, "new", claims[0].(map[string]any)["identityHash"])
	require.Equal(t, "elsewhere", claims[1].(map[string]any)["identityHash"])
	require.False(t, rs.rewriteClaims(o), "nothing left to rewrite")
	require.False(t, rs.rewriteClaims(&unstructured.Unstructured{Object: map[string]any{}}))
}
