package apis

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Retries back off between these bounds; a binding whose instances have finalizers is rechecked
// at most every maxRetryDelay.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = 10 * time.Second
)

// errWaiting reports that an object waits for something else to happen; it is retried with
// backoff without logging an error.
type errWaiting struct{ reason string }

func (e errWaiting) Error() string { return e.reason }

// queue is a rate-limited work queue of cluster keys and the workers draining it.
type queue struct {
	name      string
	q         workqueue.TypedRateLimitingInterface[string]
	reconcile func(ctx context.Context, key string) error
}

func newQueue(name string, reconcile func(ctx context.Context, key string) error) *queue {
	return &queue{
		name: name,
		q: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](minRetryDelay, maxRetryDelay),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name},
		),
		reconcile: reconcile,
	}
}

func (q *queue) add(key string) { q.q.Add(key) }

// start runs workers until ctx is done.
func (q *queue) start(ctx context.Context, workers int) {
	logger := klog.FromContext(ctx).WithValues("controller", q.name)
	ctx = klog.NewContext(ctx, logger)
	go func() {
		<-ctx.Done()
		q.q.ShutDown()
	}()
	for range workers {
		go wait.UntilWithContext(ctx, func(ctx context.Context) {
			for q.processNext(ctx) {
			}
		}, time.Second)
	}
}

func (q *queue) processNext(ctx context.Context) bool {
	key, shutdown := q.q.Get()
	if shutdown {
		return false
	}
	defer q.q.Done(key)
	logger := klog.FromContext(ctx).WithValues("key", key)
	err := q.reconcile(klog.NewContext(ctx, logger), key)
	var waiting errWaiting
	switch {
	case err == nil:
		q.q.Forget(key)
	case errors.As(err, &waiting):
		logger.V(2).Info("Waiting", "reason", waiting.reason)
		q.q.AddRateLimited(key)
	case apierrors.IsConflict(err):
		// The cache is behind; the next event queues the object again.
		q.q.Forget(key)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Failed to reconcile", "key", key)
		q.q.AddRateLimited(key)
	}
	return true
}
