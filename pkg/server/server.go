package server

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/account"
	"github.com/accountmesh/accountmesh/pkg/reconciler/accountindex"
	"github.com/accountmesh/accountmesh/pkg/reconciler/garbagecollector"
	"github.com/accountmesh/accountmesh/pkg/reconciler/namespace"
	"github.com/accountmesh/accountmesh/pkg/registry/accountmesh"
	"github.com/accountmesh/accountmesh/pkg/registry/coordination"
	"github.com/accountmesh/accountmesh/pkg/registry/core"
	"github.com/accountmesh/accountmesh/pkg/registry/rbac"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// Server is a running Account Mesh.
type Server struct {
	completedConfig
	generic *genericapiserver.GenericAPIServer
}

// New builds the server: API groups, the account index and the controllers.
func (c CompletedConfig) New() (*Server, error) {
	g, err := c.generic.New("accountmesh", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("failed to create generic API server: %w", err)
	}
	s := &Server{completedConfig: *c.completedConfig, generic: g}
	if err := s.installAPIs(); err != nil {
		return nil, err
	}
	g.AddPostStartHookOrDie("accountmesh-account-index", s.startIndex)
	g.AddPostStartHookOrDie("accountmesh-bootstrap-root", s.bootstrapRoot)
	g.AddPostStartHookOrDie("accountmesh-controllers", s.startControllers)
	return s, nil
}

func (s *Server) installAPIs() error {
	getter := s.storage
	coreStorage, err := core.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	rbacStorage, err := rbac.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	coordinationStorage, err := coordination.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	accountStorage, err := accountmesh.NewStorage(scheme.Scheme, getter, s.Index, s.ExternalURL)
	if err != nil {
		return err
	}

	legacy := genericapiserver.NewDefaultAPIGroupInfo(corev1.GroupName, scheme.Scheme, metav1.ParameterCodec, scheme.Codecs)
	legacy.VersionedResourcesStorageMap[corev1.SchemeGroupVersion.Version] = coreStorage
	if err := s.generic.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &legacy); err != nil {
		return fmt.Errorf("failed to install the core API group: %w", err)
	}

	var groups []*genericapiserver.APIGroupInfo
	for _, g := range []struct {
		gv       schema.GroupVersion
		storages map[string]rest.Storage
	}{
		{rbacv1.SchemeGroupVersion, rbacStorage},
		{coordinationv1.SchemeGroupVersion, coordinationStorage},
		// events.k8s.io serves the core events storage.
		{eventsv1.SchemeGroupVersion, map[string]rest.Storage{"events": coreStorage["events"]}},
		{corev1alpha1.SchemeGroupVersion, accountStorage},
	} {
		info := genericapiserver.NewDefaultAPIGroupInfo(g.gv.Group, scheme.Scheme, metav1.ParameterCodec, scheme.Codecs)
		info.VersionedResourcesStorageMap[g.gv.Version] = g.storages
		groups = append(groups, &info)
	}
	if err := s.generic.InstallAPIGroups(groups...); err != nil {
		return fmt.Errorf("failed to install API groups: %w", err)
	}
	return nil
}

// clients returns a client factory on the loopback connection.
func (s *Server) clients(hookCtx genericapiserver.PostStartHookContext) (*client.Factory, error) {
	return client.NewFactory(hookCtx.LoopbackClientConfig)
}

// startIndex feeds the account index from a watch and holds readiness until it has synced.
func (s *Server) startIndex(hookCtx genericapiserver.PostStartHookContext) error {
	f, err := s.clients(hookCtx)
	if err != nil {
		return err
	}
	synced, err := accountindex.Run(hookCtx.Context, s.Index, f.Dynamic(string(cluster.Wildcard)))
	if err != nil {
		return err
	}
	if !cache.WaitForCacheSync(hookCtx.Context.Done(), synced) {
		return fmt.Errorf("account index did not sync")
	}
	return nil
}

// bootstrapRoot makes sure the root account has its default namespace.
func (s *Server) bootstrapRoot(hookCtx genericapiserver.PostStartHookContext) error {
	f, err := s.clients(hookCtx)
	if err != nil {
		return err
	}
	kube := f.Kube(string(s.Index.Root()))
	return wait.PollUntilContextTimeout(hookCtx.Context, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metav1.NamespaceDefault}}, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return true, nil
		}
		klog.FromContext(ctx).V(2).Info("Waiting to create the root default namespace", "err", err)
		return false, nil
	})
}

// startControllers starts the in-process controllers.
func (s *Server) startControllers(hookCtx genericapiserver.PostStartHookContext) error {
	f, err := s.clients(hookCtx)
	if err != nil {
		return err
	}
	s.admission.Start(hookCtx.Context, f)
	namespaces, err := namespace.New(f)
	if err != nil {
		return err
	}
	namespaces.Start(hookCtx.Context, 4)
	gc, err := garbagecollector.New(f, string(s.Index.Root()))
	if err != nil {
		return err
	}
	gc.Start(hookCtx.Context, 2)
	return account.New(f, s.Index, s.ExternalURL).Start(hookCtx.Context, 16)
}

// Run writes the admin kubeconfig and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	defer func() {
		if s.etcd != nil {
			s.etcd.Close()
		}
	}()
	if err := s.writeKubeconfig(); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Serving Account Mesh", "url", s.ExternalURL+cluster.URLPrefix+cluster.RootPath,
		"kubeconfig", s.Options.RootDir+"/"+KubeconfigFile)
	return s.generic.PrepareRun().RunWithContext(ctx)
}
