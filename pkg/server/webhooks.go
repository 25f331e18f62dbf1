package server

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// admissionWebhooks are the informers of every account's webhook configurations, the index
// the admission plugin reads, and the egress rules of webhook URLs.
type admissionWebhooks struct {
	index      *webhook.Index
	egress     webhook.Egress
	validating *client.SharedInformer
	mutating   *client.SharedInformer
}

// newAdmissionWebhooks returns the index over the account tree; its informers are set by
// watchAdmissionWebhooks once clients exist.
func newAdmissionWebhooks(tree webhook.Tree, allowLoopback bool) *admissionWebhooks {
	return &admissionWebhooks{index: webhook.NewIndex(tree), egress: webhook.Egress{AllowLoopback: allowLoopback}}
}

// synced reports whether both informers have their first lists.
func (w *admissionWebhooks) synced() bool {
	return w.validating != nil && w.mutating != nil && w.validating.HasSynced() && w.mutating.HasSynced()
}

// watchAdmissionWebhooks creates the wildcard informers that feed the webhook index and a
// post-start hook that runs them; the server is not ready before they have synced.
func (s *apiServer) watchAdmissionWebhooks() error {
	w := s.webhooks
	validatingLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), admissionregistrationv1.SchemeGroupVersion, "validatingwebhookconfigurations")
	if err != nil {
		return err
	}
	mutatingLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), admissionregistrationv1.SchemeGroupVersion, "mutatingwebhookconfigurations")
	if err != nil {
		return err
	}
	w.validating = client.NewSharedInformer(validatingLW, &admissionregistrationv1.ValidatingWebhookConfiguration{})
	w.validating.SetTransform(client.DropManagedFields)
	w.validating.AddInlineEventHandler(w.index.ValidatingHandler())
	w.mutating = client.NewSharedInformer(mutatingLW, &admissionregistrationv1.MutatingWebhookConfiguration{})
	w.mutating.SetTransform(client.DropManagedFields)
	w.mutating.AddInlineEventHandler(w.index.MutatingHandler())
	s.generic.AddPostStartHookOrDie("accountmesh-admission-webhooks", func(hookCtx genericapiserver.PostStartHookContext) error {
		go w.validating.Run(hookCtx.Context)
		go w.mutating.Run(hookCtx.Context)
		if !cache.WaitForCacheSync(hookCtx.Done(), w.synced) {
			return fmt.Errorf("admission webhooks did not sync")
		}
		return nil
	})
	return nil
}
