package server

import (
	"fmt"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/objectcount"
)

// startObjectCount adds the post-start hook that counts every account's objects once the account
// index has synced, and again every objectcount.DefaultInterval: the server is not ready before
// the first count.
func (s *apiServer) startObjectCount() {
	s.generic.AddPostStartHookOrDie("accountmesh-object-count", func(hookCtx genericapiserver.PostStartHookContext) error {
		if !cache.WaitForCacheSync(hookCtx.Done(), s.accounts.HasSynced) {
			return fmt.Errorf("the account index did not sync")
		}
		if err := s.objects.Recount(hookCtx.Context); err != nil {
			return err
		}
		go s.objects.Run(hookCtx.Context, objectcount.DefaultInterval)
		return nil
	})
}
