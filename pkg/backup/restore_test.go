package backup

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

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

func TestByLevel(t *testing.T) {
	t.Parallel()
	levels := byLevel([]Account{{Path: "root:a"}, {Path: "root:a:b"}, {Path: "root:a:c"}, {Path: "root:a:b:d"}, {Path: "root:a:c:e"}})
	require.Equal(t, [][]Account{{{Path: "root:a"}}, {{Path: "root:a:b"}, {Path: "root:a:c"}}, {{Path: "root:a:b:d"}, {Path: "root:a:c:e"}}}, levels)
}

func TestParallel(t *testing.T) {
	t.Parallel()
	accounts := make([]Account, 50)
	for i := range accounts {
		accounts[i] = Account{Path: fmt.Sprintf("root:a-%d", i)}
	}
	var running, most, done atomic.Int64
	require.NoError(t, parallel(t.Context(), accounts, func(context.Context, Account) error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		done.Add(1)
		return nil
	}))
	require.Equal(t, int64(len(accounts)), done.Load())
	require.LessOrEqual(t, most.Load(), int64(workers))

	boom := errors.New("boom")
	err := parallel(t.Context(), accounts, func(ctx context.Context, a Account) error {
		if a.Path == "root:a-3" {
			return boom
		}
		<-ctx.Done()
		return ctx.Err()
	})
	require.ErrorIs(t, err, boom)
}
