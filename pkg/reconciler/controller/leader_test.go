package controller_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// TestRunAsLeaderHandsOver runs two replicas for one lease: one runs at a time; when the
// leader's context ends, its run returns before the lease is released, and the other takes
// over without waiting for the lease to expire.
func TestRunAsLeaderHandsOver(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	election := func(identity string) controller.LeaderElection {
		return controller.LeaderElection{
			Lock: &resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "controllers"},
				Client:     client.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
			},
			// Long enough that only a release lets the second replica in within the test.
			LeaseDuration: time.Hour, RenewDeadline: 30 * time.Minute, RetryPeriod: 20 * time.Millisecond,
		}
	}
	var running atomic.Int32
	started := make(chan string, 2)
	run := func(name string) func(ctx context.Context) {
		return func(ctx context.Context) {
			require.Equal(t, int32(1), running.Add(1), "two replicas run at once")
			started <- name
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // finishing the work in hand
			running.Add(-1)
		}
	}
	ctxA, stopA := context.WithCancel(t.Context())
	doneA := make(chan bool)
	go func() {
		lost, err := controller.RunAsLeader(ctxA, election("a"), run("a"))
		require.NoError(t, err)
		doneA <- lost
	}()
	require.Equal(t, "a", <-started)
	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	doneB := make(chan bool)
	go func() {
		lost, err := controller.RunAsLeader(ctxB, election("b"), run("b"))
		require.NoError(t, err)
		doneB <- lost
	}()
	select {
	case name := <-started:
		t.Fatalf("%s started while a leads", name)
	case <-time.After(200 * time.Millisecond):
	}
	stopA()
	require.False(t, <-doneA, "a reported a lost lease on shutdown")
	require.Equal(t, "b", <-started)
	stopB()
	require.False(t, <-doneB)
}
