package dynamic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/storage"
)

// fillingStorage is a storage whose watch cache is ready after a number of readiness checks;
// negative never.
type fillingStorage struct {
	storage.Interface
	checks, readyAfter int64
}

func (s *fillingStorage) ReadinessCheck() error {
	if n := atomic.AddInt64(&s.checks, 1); s.readyAfter < 0 || n <= s.readyAfter {
		return storage.ErrStorageNotReady
	}
	return nil
}

func TestAwaitFilled(t *testing.T) {
	t.Parallel()
	t.Run("waits for the first fill, then never again", func(t *testing.T) {
		raw := &fillingStorage{readyAfter: 3}
		s := &serving{raw: raw}
		s.awaitFilled(t.Context())
		require.True(t, s.filled.Load())
		require.EqualValues(t, 4, atomic.LoadInt64(&raw.checks))
		s.awaitFilled(t.Context())
		require.EqualValues(t, 4, atomic.LoadInt64(&raw.checks), "a filled identity checks no more")
	})
	t.Run("gives up when the request ends", func(t *testing.T) {
		s := &serving{raw: &fillingStorage{readyAfter: -1}}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		s.awaitFilled(ctx)
		require.False(t, s.filled.Load(), "a request that ends before the fill does not mark it filled")
		require.Error(t, ctx.Err())
	})
}
