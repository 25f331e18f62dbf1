package server

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	"github.com/accountmesh/accountmesh/pkg/client"
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
	var err error
	gv := admissionregistrationv1.SchemeGroupVersion
	if w.validating, err = s.wildcardInformer(gv, "validatingwebhookconfigurations", &admissionregistrationv1.ValidatingWebhookConfiguration{}, w.index.ValidatingHandler()); err != nil {
		return err
	}
	if w.mutating, err = s.wildcardInformer(gv, "mutatingwebhookconfigurations", &admissionregistrationv1.MutatingWebhookConfiguration{}, w.index.MutatingHandler()); err != nil {
		return err
	}
	s.runBeforeReady("accountmesh-admission-webhooks", "admission webhooks", w.validating, w.mutating)
	return nil
}
