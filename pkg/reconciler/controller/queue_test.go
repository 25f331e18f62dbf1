package controller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// calls records the reconciles of a queue and answers them from a script: the i-th call of a
// key gets script(i).
type calls struct {
	mu     sync.Mutex
	byKey  map[string]int
	script func(key string, call int) (time.Duration, error)
}

func (c *calls) reconcile(_ context.Context, key string) (time.Duration, error) {
	c.mu.Lock()
	c.byKey[key]++
	n := c.byKey[key]
	c.mu.Unlock()
	return c.script(key, n)
}

func (c *calls) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[key]
}

func TestQueue(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		// script answers the n-th reconcile of a key, from 1.
		script func(key string, n int) (time.Duration, error)
		// wantCalls is how many reconciles of key "a" happen before it settles.
		wantCalls int
	}{
		{name: "success is reconciled once", wantCalls: 1,
			script: func(string, int) (time.Duration, error) { return 0, nil }},
		{name: "errors are retried until success", wantCalls: 4,
			script: func(_ string, n int) (time.Duration, error) {
				if n < 4 {
					return 0, errBoom
				}
				return 0, nil
			}},
		{name: "expected errors are retried too", wantCalls: 3,
			script: func(_ string, n int) (time.Duration, error) {
				if n < 3 {
					return 0, Expected(errBoom)
				}
				return 0, nil
			}},
		{name: "requeue after a delay", wantCalls: 3,
			script: func(_ string, n int) (time.Duration, error) {
				if n < 3 {
					return time.Millisecond, nil
				}
				return 0, nil
			}},
		{name: "a panic is retried and the worker lives on", wantCalls: 2,
			script: func(_ string, n int) (time.Duration, error) {
				if n == 1 {
					panic("reconcile bug")
				}
				return 0, nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &calls{byKey: map[string]int{}, script: tc.script}
			q := NewQueue(Options[string]{Name: "test", Reconcile: c.reconcile, RateLimiter: ExponentialBackoff[string](time.Millisecond, 10*time.Millisecond)})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				q.Run(ctx, 1) // one worker: a panic that killed it would stop everything
				close(done)
			}()
			q.Add("a")
			require.Eventually(t, func() bool { return c.count("a") >= tc.wantCalls }, 10*time.Second, time.Millisecond)
			// Once settled, another key still gets a worker and "a" is not called again.
			q.Add("b")
			require.Eventually(t, func() bool { return c.count("b") >= 1 }, 10*time.Second, time.Millisecond)
			cancel()
			<-done
			require.Equal(t, tc.wantCalls, c.count("a"))
		})
	}
}

func TestRunFinishesKeysInHandOnShutdown(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var finished, later atomic.Bool
	q := NewQueue(Options[string]{Name: "test", Reconcile: func(_ context.Context, key string) (time.Duration, error) {
		if key == "slow" {
			close(started)
			<-release
			finished.Store(true)
			return 0, nil
		}
		later.Store(true)
		return 0, nil
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		q.Run(ctx, 1)
		close(done)
	}()
	q.Add("slow")
	<-started
	q.Add("queued") // behind the slow key on the only worker
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a worker was reconciling")
	default:
	}
	close(release)
	<-done
	require.True(t, finished.Load(), "the key in hand is finished")
	require.False(t, later.Load(), "the key queued behind is dropped, not reconciled with a cancelled context")
}

func TestExpected(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name         string
		err          error
		wantExpected bool
	}{
		{name: "nil stays nil", err: nil},
		{name: "plain error", err: errBoom},
		{name: "expected", err: Expected(errBoom), wantExpected: true},
		{name: "wrapped expected", err: errors.Join(errors.New("context"), Expected(errBoom)), wantExpected: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.wantExpected, errors.As(tc.err, new(expectedError)))
			if tc.err != nil {
				require.ErrorIs(t, tc.err, errBoom)
			}
		})
	}
	require.NoError(t, Expected(nil))
}
