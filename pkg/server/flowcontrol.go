package server

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/flowcontrol"
)

// withFlowControl turns on API priority and fairness in g: upstream's, configured by the
// FlowSchemas and PriorityLevelConfigurations of the root account, with every other account's
// requests classified as its own flows (flowcontrol.PerAccount). The returned hooks start its
// informers and write the bootstrap configuration; they belong to the generic server.
func withFlowControl(g *genericapiserver.Config, root cluster.ID) (map[string]genericapiserver.PostStartHookFunc, error) {
	cfg := rest.CopyConfig(g.LoopbackClientConfig)
	cfg.Host += cluster.URLPrefix + string(root)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create the priority and fairness client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(c, 0)
	fc := utilflowcontrol.New(factory, c.FlowcontrolV1(), g.MaxRequestsInFlight+g.MaxMutatingRequestsInFlight)
	named, err := flowcontrol.NewUserSubjects(factory.Flowcontrol().V1().FlowSchemas().Informer())
	if err != nil {
		return nil, fmt.Errorf("failed to watch the FlowSchemas' user subjects: %w", err)
	}
	g.FlowControl = flowcontrol.PerAccount(fc, root, named.Named)
	return map[string]genericapiserver.PostStartHookFunc{
		"accountmesh-flowcontrol-informers": func(hookCtx genericapiserver.PostStartHookContext) error {
			factory.Start(hookCtx.Done())
			return nil
		},
		"accountmesh-flowcontrol-bootstrap": func(hookCtx genericapiserver.PostStartHookContext) error {
			return wait.PollUntilContextTimeout(hookCtx.Context, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				if err := flowcontrol.Ensure(ctx, c.FlowcontrolV1()); err != nil {
					klog.FromContext(ctx).V(2).Info("Waiting to write the priority and fairness configuration", "err", err)
					return false, nil
				}
				return true, nil
			})
		},
	}, nil
}
