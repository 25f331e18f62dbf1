package server

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewHasNoEffects builds a server and checks that nothing outside the process changed:
// the root directory does not exist and the listen address is still free. Run does the rest.
func TestNewHasNoEffects(t *testing.T) {
	t.Parallel()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := free.Addr().String()
	require.NoError(t, free.Close())

	o := NewOptions()
	o.RootDir = filepath.Join(t.TempDir(), "root")
	o.Listen = addr
	completed, err := o.Complete()
	require.NoError(t, err)
	require.NoError(t, completed.Validate())
	c := NewConfig(completed).Complete()
	require.Equal(t, "127.0.0.1", c.host)
	require.Equal(t, []string{"127.0.0.1", "::1", "localhost"}, c.certHosts)
	require.NotNil(t, c.New())

	_, err = os.Stat(o.RootDir)
	require.ErrorIs(t, err, fs.ErrNotExist, "nothing is written before Run")
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "nothing listens before Run")
	require.NoError(t, ln.Close())
}

func TestCompleteHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		listen, wantHost string
		wantCertHosts    []string
	}{
		{"127.0.0.1:0", "127.0.0.1", []string{"127.0.0.1", "::1", "localhost"}},
		{":6443", "127.0.0.1", []string{"127.0.0.1", "::1", "localhost"}},
		{"0.0.0.0:6443", "127.0.0.1", []string{"127.0.0.1", "::1", "localhost"}},
		{"[::]:6443", "127.0.0.1", []string{"127.0.0.1", "::1", "localhost"}},
		{"10.0.0.5:6443", "10.0.0.5", []string{"10.0.0.5", "127.0.0.1", "::1", "localhost"}},
		{"mesh.example.com:6443", "mesh.example.com", []string{"mesh.example.com", "127.0.0.1", "::1", "localhost"}},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			t.Parallel()
			o := NewOptions()
			o.RootDir = t.TempDir()
			o.Listen = tc.listen
			completed, err := o.Complete()
			require.NoError(t, err)
			c := NewConfig(completed).Complete()
			require.Equal(t, tc.wantHost, c.host)
			require.Equal(t, tc.wantCertHosts, c.certHosts)
		})
	}
}
