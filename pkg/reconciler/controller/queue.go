package controller

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Reconcile brings the object of key in line and reports when to look at it again: a positive
// requeueAfter queues the key again after that delay; an error retries it with backoff.
type Reconcile[K comparable] func(ctx context.Context, key K) (requeueAfter time.Duration, err error)

// Options configure a Queue.
type Options[K comparable] struct {
	// Name names the controller in logs and in the workqueue metrics. It must be a constant:
	// metric labels stay bounded.
	Name string
	// Reconcile is called for each key taken from the queue, by one worker at a time per key.
	Reconcile Reconcile[K]
	// RateLimiter paces the retries of failed keys; nil means upstream's default controller
	// rate limiter (per-key exponential backoff from 5ms to 1000s, 10 qps overall).
	RateLimiter workqueue.TypedRateLimiter[K]
}

// Queue is a controller's work queue and the workers that drain it. Add is safe for
// concurrent use, before and after Run.
type Queue[K comparable] struct {
	name      string
	reconcile Reconcile[K]
	queue     workqueue.TypedRateLimitingInterface[K]
}

// NewQueue returns a queue; Run starts its workers.
func NewQueue[K comparable](o Options[K]) *Queue[K] {
	limiter := o.RateLimiter
	if limiter == nil {
		limiter = workqueue.DefaultTypedControllerRateLimiter[K]()
	}
	return &Queue[K]{
		name:      o.Name,
		reconcile: o.Reconcile,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
			workqueue.TypedRateLimitingQueueConfig[K]{Name: o.Name}),
	}
}

// ExponentialBackoff retries a key after base, doubling the delay on every further failure up
// to max; a key that succeeds starts over.
func ExponentialBackoff[K comparable](base, maxDelay time.Duration) workqueue.TypedRateLimiter[K] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[K](base, maxDelay)
}

// Add queues key. A key already queued is queued once.
func (q *Queue[K]) Add(key K) { q.queue.Add(key) }

// Len returns how many keys wait in the queue, for tests.
func (q *Queue[K]) Len() int { return q.queue.Len() }

// Run runs workers until ctx is done, then shuts the queue down, waits for the workers to finish
// the keys in hand and returns. Keys still queued then are dropped: the informers list them
// again at the next start. Run must be called once.
func (q *Queue[K]) Run(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx).WithValues("controller", q.name)
	ctx = klog.NewContext(ctx, logger)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for q.processNext(ctx) {
			}
		})
	}
	logger.Info("Started workers", "workers", workers)
	<-ctx.Done()
	q.queue.ShutDown()
	wg.Wait()
	logger.V(2).Info("Stopped workers")
}

// processNext reconciles one key; it returns false once the queue is shut down.
func (q *Queue[K]) processNext(ctx context.Context) bool {
	key, shutdown := q.queue.Get()
	if shutdown {
		return false
	}
	defer q.queue.Done(key)
	if ctx.Err() != nil {
		// Shutting down: leave what is queued.
		return false
	}
	logger := klog.FromContext(ctx).WithValues("key", key)
	ctx = klog.NewContext(ctx, logger)

	requeueAfter, err := q.reconcileSafely(ctx, key)
	switch {
	case err == nil:
		q.queue.Forget(key)
		if requeueAfter > 0 {
			q.queue.AddAfter(key, requeueAfter)
		}
	case errors.As(err, new(expectedError)):
		logger.V(2).Info("Reconcile not done, requeuing", "reason", err.Error())
		q.queue.AddRateLimited(key)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Reconcile failed, requeuing")
		q.queue.AddRateLimited(key)
	}
	return true
}

// reconcileSafely calls the reconcile function and turns a panic into an error, so that a
// panicking key is retried with backoff and the worker lives on.
func (q *Queue[K]) reconcileSafely(ctx context.Context, key K) (requeueAfter time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in reconcile: %v\n%s", r, debug.Stack())
		}
	}()
	return q.reconcile(ctx, key)
}

// expectedError marks an error that is expected while the world converges.
type expectedError struct{ err error }

func (e expectedError) Error() string { return e.err.Error() }
func (e expectedError) Unwrap() error { return e.err }

// Expected marks err as expected while the world converges, e.g. content still being deleted or
// a write that lost a race: the key is retried with backoff like after any error, and err is
// logged at verbosity 2 instead of as a failure. Expected(nil) is nil.
func Expected(err error) error {
	if err == nil {
		return nil
	}
	return expectedError{err: err}
}
