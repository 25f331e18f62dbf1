package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// clusterAnnotation is the annotation the server stamps with an object's cluster ID.
const clusterAnnotation = "accountmesh.io/cluster"

// watchEvent is what a test expects of a ConfigMap watch event.
type watchEvent struct {
	Type    watch.EventType
	Name    string
	Cluster string
	Step    string
}

func (e watchEvent) String() string {
	return fmt.Sprintf("%s %s cluster=%s step=%s", e.Type, e.Name, e.Cluster, e.Step)
}

// collectUntil reads ConfigMap events from w until the ADDED events of all sentinels
// ("<clusterID>/<name>") have arrived and returns the other events, failing on closed
// watches, events out of resourceVersion order and timeouts.
func collectUntil(t *testing.T, w watch.Interface, sentinels map[string]bool) []watchEvent {
	t.Helper()
	var got []watchEvent
	lastRV := int64(0)
	pending := len(sentinels)
	timeout := time.After(30 * time.Second)
	for pending > 0 {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "watch closed early; events so far: %v", got)
			cm, ok := ev.Object.(*corev1.ConfigMap)
			require.True(t, ok, "unexpected %s event with %T: %v", ev.Type, ev.Object, ev.Object)
			rv, err := strconv.ParseInt(cm.ResourceVersion, 10, 64)
			require.NoError(t, err)
			require.Greater(t, rv, lastRV, "events out of order: %s after %d", cm.ResourceVersion, lastRV)
			lastRV = rv
			e := watchEvent{Type: ev.Type, Name: cm.Name, Cluster: cm.Annotations[clusterAnnotation], Step: cm.Data["step"]}
			if ev.Type == watch.Added && sentinels[e.Cluster+"/"+e.Name] {
				pending--
				continue
			}
			got = append(got, e)
		case <-timeout:
			require.Failf(t, "timed out waiting for the sentinel events", "events so far: %v", got)
		}
	}
	return got
}

// TestWatchIsolation runs the same writes on same-named ConfigMaps in two accounts at once and
// checks that a watch in one account sees exactly its own events in order, and that a
// wildcard watch sees both accounts' events, each object marked with its own cluster ID.
func TestWatchIsolation(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	ctx := t.Context()
	label := framework.RandomName("watch-")

	startWatch := func(kube kubernetes.Interface, namespace string, opts metav1.ListOptions) watch.Interface {
		list, err := kube.CoreV1().ConfigMaps(namespace).List(ctx, opts)
		require.NoError(t, err)
		opts.ResourceVersion = list.ResourceVersion
		w, err := kube.CoreV1().ConfigMaps(namespace).Watch(ctx, opts)
		require.NoError(t, err)
		t.Cleanup(w.Stop)
		return w
	}
	wA := startWatch(a.Kube, "default", metav1.ListOptions{})
	wB := startWatch(b.Kube, "default", metav1.ListOptions{})
	wildcard, err := kubernetes.NewForConfig(server.ConfigFor("*"))
	require.NoError(t, err)
	wAll := startWatch(wildcard, metav1.NamespaceAll, metav1.ListOptions{LabelSelector: "e2e-watch=" + label})

	// Both accounts run the same writes concurrently.
	ops := func(acc *framework.Account) error {
		cms := acc.Kube.CoreV1().ConfigMaps("default")
		mk := func(name, step string) *corev1.ConfigMap {
			return configMap(name, map[string]string{"e2e-watch": label}, map[string]string{"step": step, "account": acc.Name})
		}
		if _, err := cms.Create(ctx, mk("w1", "create"), metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := cms.Update(ctx, mk("w1", "update"), metav1.UpdateOptions{}); err != nil {
			return err
		}
		if _, err := cms.Create(ctx, mk("w2", "create"), metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := cms.Patch(ctx, "w2", types.MergePatchType, []byte(`{"data":{"step":"patch"}}`), metav1.PatchOptions{}); err != nil {
			return err
		}
		return cms.Delete(ctx, "w1", metav1.DeleteOptions{})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, acc := range []*framework.Account{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ops(acc)
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	// Sentinels are written after both accounts finished: any event leaking from the other
	// account would arrive before them.
	for _, acc := range []*framework.Account{a, b} {
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("sentinel", map[string]string{"e2e-watch": label}, nil), metav1.CreateOptions{})
		require.NoError(t, err)
	}

	want := func(id string) []watchEvent {
		return []watchEvent{
			{watch.Added, "w1", id, "create"},
			{watch.Modified, "w1", id, "update"},
			{watch.Added, "w2", id, "create"},
			{watch.Modified, "w2", id, "patch"},
			{watch.Deleted, "w1", id, "update"},
		}
	}
	t.Run("account watches", func(t *testing.T) {
		for _, tc := range []struct {
			acc *framework.Account
			w   watch.Interface
		}{{a, wA}, {b, wB}} {
			got := collectUntil(t, tc.w, map[string]bool{tc.acc.ClusterID + "/sentinel": true})
			require.Equal(t, want(tc.acc.ClusterID), got, "events seen in %s", tc.acc)
		}
	})
	t.Run("wildcard watch", func(t *testing.T) {
		got := collectUntil(t, wAll, map[string]bool{a.ClusterID + "/sentinel": true, b.ClusterID + "/sentinel": true})
		byCluster := map[string][]watchEvent{}
		for _, e := range got {
			byCluster[e.Cluster] = append(byCluster[e.Cluster], e)
		}
		require.Len(t, byCluster, 2, "events: %v", got)
		require.Equal(t, want(a.ClusterID), byCluster[a.ClusterID])
		require.Equal(t, want(b.ClusterID), byCluster[b.ClusterID])
	})
}

// TestWatchWildcardRestrictions checks that /clusters/* serves only cross-account list and
// watch: writes, reads of single objects and namespaced lists are refused.
func TestWatchWildcardRestrictions(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	ctx := t.Context()
	label := framework.RandomName("wild-")
	for _, acc := range []*framework.Account{a, b} {
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("wild", map[string]string{"e2e-wild": label}, map[string]string{"v": acc.Name}), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	wildcard, err := kubernetes.NewForConfig(server.ConfigFor("*"))
	require.NoError(t, err)
	cms := wildcard.CoreV1().ConfigMaps("default")
	unchanged := func(t *testing.T) {
		t.Helper()
		for _, acc := range []*framework.Account{a, b} {
			list, err := acc.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{LabelSelector: "e2e-wild=" + label})
			require.NoError(t, err)
			require.Len(t, list.Items, 1)
			require.Equal(t, "wild", list.Items[0].Name)
			require.Equal(t, map[string]string{"v": acc.Name}, list.Items[0].Data)
		}
	}

	t.Run("writes are refused", func(t *testing.T) {
		_, err := cms.Create(ctx, configMap("created-in-wildcard", nil, nil), metav1.CreateOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "create: %v", err)
		_, err = cms.Update(ctx, configMap("wild", nil, map[string]string{"v": "wildcard"}), metav1.UpdateOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "update: %v", err)
		_, err = cms.Patch(ctx, "wild", types.MergePatchType, []byte(`{"data":{"v":"wildcard"}}`), metav1.PatchOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "patch: %v", err)
		err = cms.Delete(ctx, "wild", metav1.DeleteOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "delete: %v", err)
		err = cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "deletecollection: %v", err)
		unchanged(t)
	})
	t.Run("get of a named object is refused", func(t *testing.T) {
		cm, err := cms.Get(ctx, "wild", metav1.GetOptions{})
		require.Error(t, err, "got %v", cm)
		require.True(t, apierrors.IsMethodNotSupported(err), "get: %v", err)
		require.Contains(t, err.Error(), "/clusters/*")
		ns, err := wildcard.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		require.Error(t, err, "got %v", ns)
		require.True(t, apierrors.IsMethodNotSupported(err), "get namespace: %v", err)
	})
	t.Run("namespaced list is refused", func(t *testing.T) {
		list, err := cms.List(ctx, metav1.ListOptions{})
		require.Error(t, err, "got %v", list)
		require.True(t, apierrors.IsBadRequest(err), "list: %v", err)
		require.Contains(t, err.Error(), "must not name a namespace")
		_, err = cms.Watch(ctx, metav1.ListOptions{})
		require.True(t, apierrors.IsBadRequest(err), "watch: %v", err)
	})
	t.Run("list across accounts", func(t *testing.T) {
		list, err := wildcard.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: "e2e-wild=" + label})
		require.NoError(t, err)
		got := map[string]string{}
		for _, cm := range list.Items {
			got[cm.Annotations[clusterAnnotation]] = cm.Data["v"]
		}
		require.Equal(t, map[string]string{a.ClusterID: a.Name, b.ClusterID: b.Name}, got)
	})
	t.Run("field selectors across accounts", func(t *testing.T) {
		// Field selectors filter a cross-account list; they do not address a namespace or
		// object the way a namespaced URL does.
		for _, selector := range []string{"metadata.namespace=default", "metadata.name=wild", "metadata.namespace=default,metadata.name=wild"} {
			list, err := wildcard.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: "e2e-wild=" + label, FieldSelector: selector})
			require.NoError(t, err, "list configmaps with %s", selector)
			require.Len(t, list.Items, 2, "list configmaps with %s", selector)
		}
		list, err := wildcard.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: "e2e-wild=" + label, FieldSelector: "metadata.namespace=other"})
		require.NoError(t, err)
		require.Empty(t, list.Items)

		// Cluster-scoped objects by name: one per account.
		nsName := framework.RandomName("wild-ns-")
		for _, acc := range []*framework.Account{a, b} {
			_, err := acc.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName}}, metav1.CreateOptions{})
			require.NoError(t, err)
		}
		byName := metav1.ListOptions{FieldSelector: "metadata.name=" + nsName}
		namespaces, err := wildcard.CoreV1().Namespaces().List(ctx, byName)
		require.NoError(t, err)
		var clusters []string
		for _, ns := range namespaces.Items {
			clusters = append(clusters, ns.Annotations[clusterAnnotation])
		}
		require.ElementsMatch(t, []string{a.ClusterID, b.ClusterID}, clusters)

		w, err := wildcard.CoreV1().Namespaces().Watch(ctx, byName)
		require.NoError(t, err)
		defer w.Stop()
		clusters = nil
		timeout := time.After(30 * time.Second)
		for len(clusters) < 2 {
			select {
			case ev, ok := <-w.ResultChan():
				require.True(t, ok, "watch closed")
				require.Equal(t, watch.Added, ev.Type, "event %v", ev.Object)
				ns := ev.Object.(*corev1.Namespace)
				require.Equal(t, nsName, ns.Name)
				clusters = append(clusters, ns.Annotations[clusterAnnotation])
			case <-timeout:
				require.Failf(t, "timed out", "watch of namespaces by name across accounts saw %v", clusters)
			}
		}
		require.ElementsMatch(t, []string{a.ClusterID, b.ClusterID}, clusters)

		out := framework.Kubectl(t, server.Kubeconfig, "--server", server.URL("*"), "get", "configmaps", "-A", "-l", "e2e-wild="+label,
			"--field-selector", "metadata.namespace=default", "-o", "name")
		require.Equal(t, "configmap/wild\nconfigmap/wild\n", out)
	})
	t.Run("kubectl get -A across accounts", func(t *testing.T) {
		out := framework.Kubectl(t, server.Kubeconfig, "--server", server.URL("*"), "get", "configmaps", "-A", "-l", "e2e-wild="+label,
			"-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.data.v}{"\n"}{end}`)
		lines := strings.Fields(out)
		require.ElementsMatch(t, []string{"default/wild=" + a.Name, "default/wild=" + b.Name}, lines)

		// The default table output works too and lists both same-named objects.
		out = framework.Kubectl(t, server.Kubeconfig, "--server", server.URL("*"), "get", "configmaps", "-A", "-l", "e2e-wild="+label, "--no-headers")
		require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 2, out)
	})
}
