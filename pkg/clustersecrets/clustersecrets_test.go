package clustersecrets_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/accountmesh/accountmesh/pkg/clustersecrets"
	"github.com/accountmesh/accountmesh/pkg/etcd"
)

// startEtcd runs a real single-member etcd for the test and returns a client.
func startEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	e, err := etcd.StartEmbedded(t.Context(), t.TempDir())
	require.NoError(t, err)
	t.Cleanup(e.Close)
	c, err := etcd.Client{Endpoints: []string{e.Endpoint}}.New(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var token = []byte("0123456789abcdef0123456789abcdef")

// TestEnsureRace lets replicas with different secrets of their own race on an empty store:
// exactly one stores its own, and all get those.
func TestEnsureRace(t *testing.T) {
	t.Parallel()
	c := startEtcd(t)
	const replicas = 8
	got := make([]clustersecrets.Secrets, replicas)
	created := make([]bool, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, c, err := clustersecrets.Ensure(t.Context(), c, "/r/secrets", token, func() (clustersecrets.Secrets, error) {
				return clustersecrets.Secrets{"ca.key": []byte{byte(i)}}, nil
			})
			require.NoError(t, err)
			got[i], created[i] = s, c
		})
	}
	wg.Wait()
	n := 0
	for i := range replicas {
		require.Equal(t, got[0], got[i])
		if created[i] {
			n++
		}
	}
	require.Equal(t, 1, n, "replicas that stored their own secrets")
	// A later replica reads them without creating any.
	s, stored, err := clustersecrets.Ensure(t.Context(), c, "/r/secrets", token, func() (clustersecrets.Secrets, error) {
		t.Fatal("create called with secrets stored")
		return nil, nil
	})
	require.NoError(t, err)
	require.False(t, stored)
	require.Equal(t, got[0], s)
	// What etcd holds is sealed: the secret is not in it.
	resp, err := c.Get(t.Context(), "/r/secrets")
	require.NoError(t, err)
	require.NotContains(t, string(resp.Kvs[0].Value), `"ca.key"`)
}

// TestEnsureWrongToken: another token opens nothing, creates nothing and changes nothing; a
// record copied under another key does not open either.
func TestEnsureWrongToken(t *testing.T) {
	t.Parallel()
	c := startEtcd(t)
	ctx := t.Context()
	want := clustersecrets.Secrets{"ca.key": []byte("k")}
	_, _, err := clustersecrets.Ensure(ctx, c, "/r/secrets", token, func() (clustersecrets.Secrets, error) { return want, nil })
	require.NoError(t, err)
	before, err := c.Get(ctx, "/r/secrets")
	require.NoError(t, err)

	_, _, err = clustersecrets.Ensure(ctx, c, "/r/secrets", []byte("another token, just as long......"), func() (clustersecrets.Secrets, error) {
		t.Fatal("create called with secrets stored")
		return nil, nil
	})
	require.ErrorIs(t, err, clustersecrets.ErrWrongToken)
	after, err := c.Get(ctx, "/r/secrets")
	require.NoError(t, err)
	require.Equal(t, before.Header.Revision, after.Header.Revision, "etcd changed")

	_, err = c.Put(ctx, "/other/secrets", string(before.Kvs[0].Value))
	require.NoError(t, err)
	_, _, err = clustersecrets.Ensure(ctx, c, "/other/secrets", token, nil)
	require.ErrorIs(t, err, clustersecrets.ErrWrongToken)
}

func TestReadToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		wantErr       string
	}{
		{name: "random hex", content: "  00112233445566778899aabbccddeeff\n"},
		{name: "too short", content: "short\n", wantErr: "has 5 bytes; use at least 16"},
		{name: "empty", content: "\n", wantErr: "has 0 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(f, []byte(tc.content), 0o600))
			tok, err := clustersecrets.ReadToken(f)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "00112233445566778899aabbccddeeff", string(tok))
		})
	}
	_, err := clustersecrets.ReadToken(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "failed to read the cluster token")
}
