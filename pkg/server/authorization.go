package server

import (
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"

	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	authzregistry "github.com/accountmesh/accountmesh/pkg/registry/authorization"
)

// rbacResources are the resources the authorization policy is built from, with their types.
var rbacResources = map[string]runtime.Object{
	"roles":               &rbacv1.Role{},
	"clusterroles":        &rbacv1.ClusterRole{},
	"rolebindings":        &rbacv1.RoleBinding{},
	"clusterrolebindings": &rbacv1.ClusterRoleBinding{},
}

// installAuthorization installs authorization.k8s.io (access reviews about the caller and about
// others, rules reviews) and authorization.accountmesh.io (accessible accounts, grants), and
// starts the wildcard RBAC informers that feed the policy; the server is not ready before they
// have synced.
func (s *apiServer) installAuthorization() error {
	policy := s.authz.Policy()
	if err := s.installGroups(
		apiGroup{authorizationv1.SchemeGroupVersion, map[string]rest.Storage{
			"selfsubjectaccessreviews":  &authzregistry.AccessReviewREST{Authorizer: s.Generic.Authorization.Authorizer},
			"selfsubjectrulesreviews":   &authzregistry.RulesReviewREST{Rules: policy},
			"subjectaccessreviews":      &authzregistry.SubjectAccessReviewREST{Authorizer: s.Generic.Authorization.Authorizer},
			"localsubjectaccessreviews": &authzregistry.LocalSubjectAccessReviewREST{Authorizer: s.Generic.Authorization.Authorizer},
		}},
		apiGroup{authorizationv1alpha1.SchemeGroupVersion, authzregistry.NewStorage(policy, s.policies.index, s.webhooks.index, s.Index)},
	); err != nil {
		return err
	}

	var synced []cache.InformerSynced
	var informers []*client.SharedInformer
	for resource, h := range policy.Handlers() {
		lw, err := s.clients.TypedListWatch(string(cluster.Wildcard), rbacv1.SchemeGroupVersion, resource)
		if err != nil {
			return err
		}
		inf := client.NewSharedInformer(lw, rbacResources[resource])
		inf.AddInlineEventHandler(h)
		// After the policy has the change: the marketplace shows what the policy allows.
		inf.AddInlineEventHandler(s.marketplaceChanged())
		informers = append(informers, inf)
		synced = append(synced, inf.HasSynced)
	}
	s.generic.AddPostStartHookOrDie("accountmesh-authorization-policy", func(hookCtx genericapiserver.PostStartHookContext) error {
		for _, inf := range informers {
			go inf.Run(hookCtx.Context)
		}
		if !cache.WaitForCacheSync(hookCtx.Done(), synced...) {
			return fmt.Errorf("authorization policy did not sync")
		}
		return nil
	})
	return nil
}
