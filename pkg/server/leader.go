package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/pki"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// The controllers run on one replica at a time: the holder of one Lease for all of them, in
// the root account. One lease, not one per controller: the controllers share informers and
// hand work to each other (accounts, initializers, bindings, namespaces), so one replica
// running them all keeps one set of caches and one writer per object; the API, which every
// replica serves, is where the load is.
const (
	// ControllersLeaseNamespace is the root account's namespace of the controllers' Lease.
	ControllersLeaseNamespace = "accountmesh-system"
	// ControllersLeaseName names the controllers' Lease.
	ControllersLeaseName = "accountmesh-controllers"
)

// replicaIDFile holds the replica's identity in leader election, under the root dir: a
// replica that restarts after a crash is still the holder and resumes at once instead of
// waiting for its own lease to expire.
const replicaIDFile = "replica-id"

// errLeadershipLost ends Run when the controllers' lease was lost without a shutdown.
var errLeadershipLost = errors.New("lost the controllers' lease (another replica runs them now); exiting, so that a restart rejoins as a follower")

// election runs the controllers while this replica holds the lease.
type election struct {
	// stop ends the election at shutdown: the controllers stop and the lease is released.
	stop context.CancelFunc
	ctx  context.Context
	done chan struct{}
	// lost stops the server when the lease was lost.
	lost func()
}

// replicaID returns the identity of the replica with root dir dir, creating it once.
func replicaID(dir string) (string, error) {
	file := filepath.Join(dir, replicaIDFile)
	b, err := os.ReadFile(file)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("failed to read the replica ID: %w", err)
	}
	host, _ := os.Hostname()
	r := make([]byte, 8)
	_, _ = rand.Read(r)
	id := host + "_" + hex.EncodeToString(r)
	if err := pki.WriteFileAtomic(file, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("failed to write the replica ID: %w", err)
	}
	return id, nil
}

// startElection runs for the controllers' lease and, while this replica holds it, the
// controllers. It returns at once; a pre-shutdown hook ends the election.
func (s *apiServer) startElection(hookCtx genericapiserver.PostStartHookContext) error {
	go func() {
		defer close(s.election.done)
		ctx := s.election.ctx
		logger := klog.FromContext(ctx)
		if err := s.ensureLeaseNamespace(ctx); err != nil {
			if ctx.Err() == nil {
				logger.Error(err, "Failed to run for the controllers' lease")
				s.election.lost()
			}
			return
		}
		lock := &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: ControllersLeaseNamespace, Name: ControllersLeaseName},
			Client:     s.clients.Kube(string(s.Index.Root())).CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: s.replicaID},
		}
		o := s.Options
		lost, err := controller.RunAsLeader(ctx, controller.LeaderElection{
			Lock: lock, LeaseDuration: o.LeaderElection.LeaseDuration,
			RenewDeadline: o.LeaderElection.RenewDeadline, RetryPeriod: o.LeaderElection.RetryPeriod,
		}, func(ctx context.Context) {
			if err := s.runControllers(ctx); err != nil && ctx.Err() == nil {
				logger.Error(err, "Failed to start the controllers")
				s.election.lost()
			}
			<-ctx.Done()
		})
		if err != nil {
			logger.Error(err, "Failed to run for the controllers' lease")
		}
		if lost || err != nil {
			s.election.lost()
		}
	}()
	return nil
}

// stopElection stops the controllers and releases the lease before the listener closes, so
// that another replica takes over at once.
func (s *apiServer) stopElection() error {
	s.election.stop()
	select {
	case <-s.election.done:
	case <-time.After(s.Options.LeaderElection.RenewDeadline):
		klog.Background().Info("Controllers did not stop in time; the lease is left to expire")
	}
	return nil
}

// ensureLeaseNamespace creates the namespace of the lease in the root account.
func (s *apiServer) ensureLeaseNamespace(ctx context.Context) error {
	namespaces := s.clients.Kube(string(s.Index.Root())).CoreV1().Namespaces()
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControllersLeaseNamespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			klog.FromContext(ctx).V(2).Info("Waiting to create the namespace of the controllers' lease", "err", err)
			return false, nil
		}
		return true, nil
	})
}
