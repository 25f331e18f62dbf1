package server

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// wildcardInformer returns an informer of a resource in every account, without managed fields,
// whose handler runs inline with each event.
func (s *apiServer) wildcardInformer(gv schema.GroupVersion, resource string, obj runtime.Object, handler cache.ResourceEventHandler) (*client.SharedInformer, error) {
	lw, err := s.clients.TypedListWatch(string(cluster.Wildcard), gv, resource)
	if err != nil {
		return nil, err
	}
	i := client.NewSharedInformer(lw, obj)
	i.SetTransform(client.DropManagedFields)
	i.AddInlineEventHandler(handler)
	return i, nil
}

// runBeforeReady adds the post-start hook name that runs the informers; the server is not
// ready before they have synced, and the hook's error names what did not.
func (s *apiServer) runBeforeReady(name, what string, informers ...*client.SharedInformer) {
	s.generic.AddPostStartHookOrDie(name, func(hookCtx genericapiserver.PostStartHookContext) error {
		synced := make([]cache.InformerSynced, 0, len(informers))
		for _, i := range informers {
			go i.Run(hookCtx.Context)
			synced = append(synced, i.HasSynced)
		}
		if !cache.WaitForCacheSync(hookCtx.Done(), synced...) {
			return fmt.Errorf("%s did not sync", what)
		}
		return nil
	})
}
