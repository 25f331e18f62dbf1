package replicas

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// Short election times keep the test fast; the defaults are what the benchmark measures.
var fastElection = []string{"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms"}

// leader returns the index of the replica that holds the controllers' lease, waiting until it
// is not the replica at index not (-1: any).
func leader(t testing.TB, m *mesh, not int) int {
	t.Helper()
	ids := make([]string, len(m.replicas))
	for i, r := range m.replicas {
		id, err := os.ReadFile(filepath.Join(r.RootDir, "replica-id"))
		require.NoError(t, err)
		ids[i] = strings.TrimSpace(string(id))
	}
	ask := m.replicas[0]
	if not == 0 {
		ask = m.replicas[1]
	}
	kube, err := kubernetes.NewForConfig(ask.ConfigFor("root"))
	require.NoError(t, err)
	holder := -1
	framework.Eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		l, err := kube.CoordinationV1().Leases("accountmesh-system").Get(ctx, "accountmesh-controllers", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, nil
		}
		holder = slices.Index(ids, *l.Spec.HolderIdentity)
		return holder >= 0 && holder != not, nil
	}, "no other replica took the controllers' lease")
	return holder
}

// leading counts the terms in which a replica started the controllers, from its log.
func leading(t testing.TB, s *framework.Server) int {
	t.Helper()
	log, err := s.Log()
	require.NoError(t, err)
	return strings.Count(log, "Leading: starting the controllers")
}

// createAccounts creates n accounts named prefix-<i> in root through cfg, 8 at a time, and
// calls after(i) once the i-th creation was acknowledged.
func createAccounts(t testing.TB, cfg *rest.Config, prefix string, n int, after func(i int)) {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	d, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				obj := &unstructured.Unstructured{}
				obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
				obj.SetKind("Account")
				obj.SetName(fmt.Sprintf("%s-%d", prefix, i))
				if _, err := d.Resource(framework.AccountsGVR).Create(t.Context(), obj, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("account %d: %w", i, err)
					return
				}
				after(i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestControllersFailover runs the controllers on one of two replicas, kills that one (kill
// -9) in the middle of creating 300 accounts through the other, and checks that the other
// takes over the lease and finishes every account: all Ready, each with one cluster ID, its
// initializers done (default namespace, owner binding) and nothing created twice.
func TestControllersFailover(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMesh(t, 2, fastElection...)
	l := leader(t, m, -1)
	old, follower := m.replicas[l], m.replicas[1-l]
	require.Equal(t, 1, leading(t, old))
	require.Equal(t, 0, leading(t, follower), "both replicas run the controllers")

	const n = 300
	var once sync.Once
	createAccounts(t, follower.ConfigFor("root"), "acc", n, func(i int) {
		if i >= n/3 {
			once.Do(old.Kill)
		}
	})
	require.Equal(t, 1-l, leader(t, m, l), "the lease did not move to the surviving replica")
	// The new leader logs that it leads right after it took the lease.
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		return leading(t, follower) == 1, nil
	}, "the new leader did not start the controllers")
	require.Equal(t, 1, leading(t, follower))

	// Every account becomes Ready under the new leader.
	d, err := dynamic.NewForConfig(follower.ConfigFor("root"))
	require.NoError(t, err)
	ids := map[string]string{}
	framework.Eventually(t, 3*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := d.Resource(framework.AccountsGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, a := range list.Items {
			phase, _, _ := unstructured.NestedString(a.Object, "status", "phase")
			pending, _, _ := unstructured.NestedStringSlice(a.Object, "status", "initializers")
			id, _, _ := unstructured.NestedString(a.Object, "status", "clusterID")
			if phase == "Ready" && len(pending) == 0 && id != "" {
				ready++
				ids[a.GetName()] = id
			}
		}
		return ready == n && len(list.Items) == n, nil
	}, "not every account became Ready after the failover")

	// One cluster ID per account, each fully initialized: its default namespace and owner
	// binding exist, in its own account.
	seen := map[string]bool{}
	for name, id := range ids {
		require.False(t, seen[id], "cluster ID %s of %s is used twice", id, name)
		seen[id] = true
		kube, err := kubernetes.NewForConfig(follower.ConfigFor(id))
		require.NoError(t, err)
		_, err = kube.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		require.NoError(t, err, "account %s has no default namespace", name)
		_, err = kube.RbacV1().ClusterRoleBindings().Get(ctx, "accountmesh:owner", metav1.GetOptions{})
		require.NoError(t, err, "account %s has no owner binding", name)
	}
	// Nothing was initialized twice or under another ID: the default namespaces across the
	// mesh are those of root and of these accounts.
	wild, err := kubernetes.NewForConfig(follower.ConfigFor("*"))
	require.NoError(t, err)
	namespaces, err := wild.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=default"})
	require.NoError(t, err)
	require.Len(t, namespaces.Items, n+1, "default namespaces across the mesh")
	for _, ns := range namespaces.Items {
		id := ns.Annotations["accountmesh.io/cluster"]
		require.True(t, seen[id] || id == rootID(t, follower), "a default namespace in an unknown account %s", id)
	}
}

// rootID returns the root account's cluster ID.
func rootID(t testing.TB, s *framework.Server) string {
	t.Helper()
	return framework.Kubectl(t, s.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}")
}
