package server

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// watchQuotas creates the wildcard informer of every account's ResourceQuotas, which tells the
// quota admission plugin which quotas exist and feeds the quota controller, and a post-start
// hook that runs it; the server is not ready before it has synced.
func (s *apiServer) watchQuotas() error {
	lw, err := s.clients.TypedListWatch(string(cluster.Wildcard), corev1.SchemeGroupVersion, "resourcequotas")
	if err != nil {
		return err
	}
	s.quotas = client.NewSharedInformer(lw, &corev1.ResourceQuota{})
	s.quotas.SetTransform(client.DropManagedFields)
	s.quotas.AddInlineEventHandler(s.quotaAdmission.EventHandler())
	s.generic.AddPostStartHookOrDie("accountmesh-resource-quotas", func(hookCtx genericapiserver.PostStartHookContext) error {
		go s.quotas.Run(hookCtx.Context)
		if !cache.WaitForCacheSync(hookCtx.Done(), s.quotas.HasSynced) {
			return fmt.Errorf("resource quotas did not sync")
		}
		return nil
	})
	return nil
}
