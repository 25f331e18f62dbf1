package server

import (
	"context"
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	registryorchestration "github.com/accountmesh/accountmesh/pkg/registry/orchestration"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

// installOrchestrationAPIs installs orchestration.accountmesh.io: OrchestrationContexts. Their
// controller is started in startControllers.
func (s *apiServer) installOrchestrationAPIs() error {
	storage, err := registryorchestration.NewStorage(scheme.Scheme, s.storage, registryorchestration.Deps{
		Index:      s.Index,
		Authorizer: s.Generic.Authorization.Authorizer,
		Resources:  s.accountResources,
		Rules:      s.authz.Policy(),
		Count:      s.countObjects,
	})
	if err != nil {
		return err
	}
	return s.installGroups(apiGroup{orchestrationv1alpha1.SchemeGroupVersion, storage})
}

// accountResources returns the resources account id serves in a group version, from its
// discovery, read with the platform's client.
func (s *apiServer) accountResources(ctx context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error) {
	if s.clients == nil {
		return nil, errors.New("failed to discover resources: the server is starting")
	}
	list, err := s.clients.Kube(string(id)).Discovery().ServerResourcesForGroupVersionWithContext(ctx, gv.String())
	if err != nil {
		return nil, err
	}
	return list.APIResources, nil
}

// countObjects counts the objects of a resource in an account that match a label selector, at
// most limit+1 of them, read with the platform's client.
func (s *apiServer) countObjects(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, selector string, limit int) (int, error) {
	if s.clients == nil {
		return 0, errors.New("failed to count objects: the server is starting")
	}
	list, err := s.clients.Dynamic(string(id)).Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: int64(limit) + 1})
	if err != nil {
		return 0, err
	}
	return len(list.Items), nil
}
