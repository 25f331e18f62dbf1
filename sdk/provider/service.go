package provider

import (
	"context"
	"slices"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
)

// Service is what the provider of a managed service (an APIExport with spec.service) needs of
// an engaged consumer account, as the platform reports it in the status of the account's
// bindings of the export.
type Service struct {
	// ShadowAccount is the consumer organisation's shadow account in the provider account,
	// where the provider keeps the customer's state and credentials (reach it with
	// AccountConfig). Nil until the platform has created it.
	ShadowAccount *apisv1alpha1.ShadowAccountReference
	// TenantSpaces are the namespaces of the account's tenant spaces (one per binding), where
	// the provider writes its related resources back through the view.
	TenantSpaces []string
}

// Service returns the shadow account and tenant spaces of consumer account c, and false
// while no binding of c names either (the export is not a managed service, or the platform
// has not connected the account yet). It reads the shared informer of the view's bindings.
func (p *Provider) Service(ctx context.Context, c multicluster.ClusterName) (Service, bool, error) {
	bindings, err := p.informerFor(ctx, &apisv1alpha1.APIBinding{})
	if err != nil {
		return Service{}, false, err
	}
	var s Service
	for _, item := range bindings.byCluster(c) {
		// Bindings being deleted count: the provider cleans up while the account unbinds.
		b, ok := item.(*apisv1alpha1.APIBinding)
		if !ok {
			continue
		}
		if b.Status.ShadowAccount != nil && s.ShadowAccount == nil {
			s.ShadowAccount = b.Status.ShadowAccount.DeepCopy()
		}
		if b.Status.TenantSpace != nil && !slices.Contains(s.TenantSpaces, b.Status.TenantSpace.Namespace) {
			s.TenantSpaces = append(s.TenantSpaces, b.Status.TenantSpace.Namespace)
		}
	}
	slices.Sort(s.TenantSpaces)
	return s, s.ShadowAccount != nil || len(s.TenantSpaces) > 0, nil
}

// AccountConfig returns a config for an account outside the view, by path or cluster ID
// (https://HOST/clusters/<account>), with the provider's credentials: e.g. a shadow account,
// where a ServiceAccount of the provider account with content rights on the export is admin.
func (p *Provider) AccountConfig(account string) *rest.Config {
	cfg := rest.CopyConfig(p.base)
	cfg.Host = p.base.Host + "/clusters/" + account
	return cfg
}
