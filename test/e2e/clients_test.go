package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestClientGoInformer runs a client-go shared informer against one account URL: it sees that
// account's objects and changes, and nothing of another account.
func TestClientGoInformer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	_, err := b.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("other", nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = a.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("before", nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)

	// The CA bundle that the server publishes in every namespace is not the test's.
	factory := informers.NewSharedInformerFactoryWithOptions(a.Kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "metadata.name!=" + framework.RootCAConfigMap
	}))
	inf := factory.Core().V1().ConfigMaps()
	events := make(chan string, 100)
	_, err = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { events <- "add " + obj.(*corev1.ConfigMap).Name },
		UpdateFunc: func(_, obj interface{}) { events <- "update " + obj.(*corev1.ConfigMap).Name },
		DeleteFunc: func(obj interface{}) {
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				events <- "delete " + cm.Name
			}
		},
	})
	require.NoError(t, err)
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	factory.WaitForCacheSync(ctx.Done())
	require.Equal(t, "add before", next(t, events))

	_, err = a.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("during", nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = b.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("during-b", nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "add during", next(t, events))
	_, err = a.Kube.CoreV1().ConfigMaps("default").Update(ctx, configMap("during", nil, map[string]string{"k": "v"}), metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, "update during", next(t, events))
	require.NoError(t, a.Kube.CoreV1().ConfigMaps("default").Delete(ctx, "before", metav1.DeleteOptions{}))
	require.Equal(t, "delete before", next(t, events))

	all, err := inf.Lister().List(labels.Everything())
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, "during", all[0].Name)
	require.Equal(t, "v", all[0].Data["k"])
}

func next(t *testing.T, events <-chan string) string {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no informer event within 30s")
		return ""
	}
}

// mirror copies every ConfigMap named src-* to mirror-* with the same data.
type mirror struct {
	client ctrlclient.Client
}

func (m *mirror) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if !strings.HasPrefix(req.Name, "src-") {
		return ctrl.Result{}, nil
	}
	src := &corev1.ConfigMap{}
	if err := m.client.Get(ctx, req.NamespacedName, src); err != nil {
		return ctrl.Result{}, ctrlclient.IgnoreNotFound(err)
	}
	dst := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: "mirror-" + strings.TrimPrefix(req.Name, "src-")}}
	_, err := ctrl.CreateOrUpdate(ctx, m.client, dst, func() error {
		dst.Data = src.Data
		return nil
	})
	return ctrl.Result{}, err
}

// TestControllerRuntimeManager runs a controller-runtime manager with a tiny mirroring
// reconciler against one account URL.
func TestControllerRuntimeManager(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")

	mgr, err := ctrl.NewManager(a.Config, ctrl.Options{
		Scheme:                 clientgoscheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	require.NoError(t, err)
	require.NoError(t, ctrl.NewControllerManagedBy(mgr).
		For(&corev1.ConfigMap{}).
		WithOptions(controller.Options{SkipNameValidation: ptrTo(true)}).
		Complete(&mirror{client: mgr.GetClient()}))
	startManager(t, mgr)

	for _, acc := range []*framework.Account{a, b} {
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("src-one", nil, map[string]string{"from": acc.Name}), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		cm, err := a.Kube.CoreV1().ConfigMaps("default").Get(ctx, "mirror-one", metav1.GetOptions{})
		return err == nil && cm.Data["from"] == a.Name, nil
	}, "the reconciler did not mirror the ConfigMap")

	src, err := a.Kube.CoreV1().ConfigMaps("default").Get(ctx, "src-one", metav1.GetOptions{})
	require.NoError(t, err)
	src.Data["more"] = "yes"
	_, err = a.Kube.CoreV1().ConfigMaps("default").Update(ctx, src, metav1.UpdateOptions{})
	require.NoError(t, err)
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		cm, err := a.Kube.CoreV1().ConfigMaps("default").Get(ctx, "mirror-one", metav1.GetOptions{})
		return err == nil && cm.Data["more"] == "yes", nil
	}, "the reconciler did not follow the update")

	// The manager works in account a only.
	_, err = b.Kube.CoreV1().ConfigMaps("default").Get(ctx, "mirror-one", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the manager of %s wrote into %s: %v", a.Path, b.Path, err)
}

func ptrTo[T any](v T) *T { return &v }
