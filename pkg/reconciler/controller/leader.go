package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// LeaderElection says how the replicas of one mesh elect the one that runs the controllers.
type LeaderElection struct {
	// Lock is the Lease they compete for, with this replica's identity.
	Lock resourcelock.Interface
	// LeaseDuration is how long followers wait after the last renewal before they take over;
	// RenewDeadline how long the leader retries renewing before it gives up; RetryPeriod how
	// often everyone tries (upstream's meanings).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// RunAsLeader runs run, with a context that ends with the leadership, while this replica holds
// the lease; it blocks until ctx is done or the lease is lost. When ctx is done it waits for
// run to return and then releases the lease, so that another replica takes over at once. It
// reports whether the lease was lost while ctx was still live: the replica may then still be
// running controllers another leader runs too, and should stop (as upstream's controller
// managers do) and rejoin as a follower.
func RunAsLeader(ctx context.Context, e LeaderElection, run func(ctx context.Context)) (lost bool, err error) {
	logger := klog.FromContext(ctx).WithValues("lease", e.Lock.Describe(), "identity", e.Lock.Identity())
	var (
		running   sync.WaitGroup
		mu        sync.Mutex
		stopping  bool
		cancelRun context.CancelFunc
	)
	// The elector's own context: it ends after run has returned, so that the lease is
	// released only once the controllers have stopped.
	electionCtx, stopElection := context.WithCancel(klog.NewContext(context.WithoutCancel(ctx), logger))
	defer stopElection()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            e.Lock,
		LeaseDuration:   e.LeaseDuration,
		RenewDeadline:   e.RenewDeadline,
		RetryPeriod:     e.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.Lock.Describe(),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				mu.Lock()
				defer mu.Unlock()
				if stopping {
					return
				}
				var runCtx context.Context
				runCtx, cancelRun = context.WithCancel(leaderCtx)
				logger.Info("Leading: starting the controllers")
				running.Go(func() { run(runCtx) })
			},
			OnStoppedLeading: func() { logger.Info("Stopped leading") },
			OnNewLeader: func(identity string) {
				logger.V(2).Info("New leader", "leader", identity)
			},
		},
	})
	if err != nil {
		return false, fmt.Errorf("failed to set up leader election: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		le.Run(electionCtx)
	}()
	select {
	case <-done:
		// The lease was lost (the elector only returns early then).
		running.Wait()
		return ctx.Err() == nil, nil
	case <-ctx.Done():
	}
	mu.Lock()
	stopping = true
	if cancelRun != nil {
		cancelRun()
	}
	mu.Unlock()
	running.Wait()
	stopElection()
	<-done
	return false, nil
}
