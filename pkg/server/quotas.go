package server

import (
	corev1 "k8s.io/api/core/v1"
)

// watchQuotas creates the wildcard informer of every account's ResourceQuotas, which tells the
// quota admission plugin which quotas exist and feeds the quota controller, and a post-start
// hook that runs it; the server is not ready before it has synced.
func (s *apiServer) watchQuotas() error {
	var err error
	if s.quotas, err = s.wildcardInformer(corev1.SchemeGroupVersion, "resourcequotas", &corev1.ResourceQuota{}, s.quotaAdmission.EventHandler()); err != nil {
		return err
	}
	s.runBeforeReady("accountmesh-resource-quotas", "resource quotas", s.quotas)
	return nil
}
