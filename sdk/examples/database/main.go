// Command database is the example provider of Account Mesh. It serves the APIExport "db"
// (config/): consumers bind it, create Databases in their accounts, and this controller, built
// on sdk/provider and multicluster-runtime, marks each Database Ready and writes its
// connection Secret, through the export's provider view. With config/export.yaml (a Shared
// managed service, the default) the Secret goes into the binding's tenant space, and the
// customer's credentials are kept in the organisation's shadow account; with
// config/export-claims.yaml it goes beside the Database, through the consumer's accepted claim
// on labelled Secrets. With --dedicated (and the export's model Dedicated) it also reports each
// organisation's ServiceInstance Ready.
//
//	go run ./sdk/examples/database --kubeconfig provider.kubeconfig --path root:prov --export db
//
// It owns nothing outside this folder and must not import server packages beyond the API types.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	dbv1 "github.com/accountmesh/accountmesh/sdk/examples/database/apis/v1"
	"github.com/accountmesh/accountmesh/sdk/provider"
)

// options are the command's flags.
type options struct {
	kubeconfig string
	path       string
	export     string
	dedicated  bool
}

func main() {
	// A flag set of our own: controller-runtime registers its own --kubeconfig on the global one.
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	o := options{}
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of a user with access to the export's content in the provider account")
	fs.StringVar(&o.path, "path", "", "path (or cluster ID) of the provider account, e.g. root:prov")
	fs.StringVar(&o.export, "export", "db", "name of the APIExport in the provider account")
	fs.BoolVar(&o.dedicated, "dedicated", false, "deploy a dedicated instance for each consumer organisation's ServiceInstance (a Dedicated managed service)")
	klog.InitFlags(fs)
	_ = fs.Parse(os.Args[1:]) // ExitOnError
	ctrl.SetLogger(klog.NewKlogr())
	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		klog.ErrorS(err, "Provider failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.path == "" || o.export == "" {
		return errors.New("--path and --export are required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := dbv1.AddToScheme(scheme); err != nil {
		return err
	}
	p, err := provider.New(provider.Options{Config: cfg, Path: o.path, Export: o.export, Scheme: scheme,
		Objects: []client.Object{&dbv1.Database{}, &corev1.Secret{}}})
	if err != nil {
		return fmt.Errorf("failed to create the provider: %w", err)
	}
	mgr, err := mcmanager.New(cfg, p, manager.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return fmt.Errorf("failed to create the manager: %w", err)
	}
	shadows := &shadowClients{provider: p, scheme: scheme, clients: map[string]client.Client{}}
	r := &reconciler{client: func(ctx context.Context, c multicluster.ClusterName) (client.Client, error) {
		cl, err := mgr.GetCluster(ctx, c)
		if err != nil {
			return nil, err
		}
		return cl.GetClient(), nil
	}, service: p.Service, shadow: shadows.get}
	if o.dedicated {
		td := newTeardowns(scheme, p.AccountConfig, shadows.get)
		go td.run(ctx)
		err = mcbuilder.ControllerManagedBy(mgr).
			Named("serviceinstance").
			For(&apisv1alpha1.APIBinding{}).
			Complete(&instanceReconciler{export: o.export, service: p.Service, shadow: shadows.get, teardowns: td})
		if err != nil {
			return fmt.Errorf("failed to create the instance controller: %w", err)
		}
	}
	err = mcbuilder.ControllerManagedBy(mgr).
		Named("database").
		For(&dbv1.Database{}).
		Owns(&corev1.Secret{}).
		Watches(&apisv1alpha1.APIBinding{}, databasesOfAccount).
		Complete(r)
	if err != nil {
		return fmt.Errorf("failed to create the controller: %w", err)
	}
	return mgr.Start(ctx)
}

// databasesOfAccount requeues every Database of an account when one of its bindings
// changes, e.g. when the consumer accepts or rejects the claim on secrets.
func databasesOfAccount(c multicluster.ClusterName, cl cluster.Cluster) handler.TypedEventHandler[client.Object, mcreconcile.Request] {
	return handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []mcreconcile.Request {
		var dbs dbv1.DatabaseList
		if err := cl.GetCache().List(ctx, &dbs); err != nil {
			klog.FromContext(ctx).Error(err, "Failed to list databases", "cluster", c)
			return nil
		}
		reqs := make([]mcreconcile.Request, 0, len(dbs.Items))
		for _, db := range dbs.Items {
			req := mcreconcile.Request{ClusterName: c}
			req.Namespace, req.Name = db.Namespace, db.Name
			reqs = append(reqs, req)
		}
		return reqs
	})
}

// shadowClients are the clients of the shadow accounts, made once each with the provider's
// credentials.
type shadowClients struct {
	provider *provider.Provider
	scheme   *runtime.Scheme

	mu      sync.Mutex
	clients map[string]client.Client
}

func (s *shadowClients) get(_ context.Context, id string) (client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	c, err := client.New(s.provider.AccountConfig(id), client.Options{Scheme: s.scheme})
	if err != nil {
		return nil, fmt.Errorf("failed to create the client of shadow account %s: %w", id, err)
	}
	s.clients[id] = c
	return c, nil
}
