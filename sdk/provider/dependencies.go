package provider

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

// DependenciesReady reports whether an object's dependencies, as an OrchestrationContext that
// lists it declares them, are all ready: the platform publishes that in the annotation
// orchestration.accountmesh.io/dependencies-ready. An object without the annotation is in no
// context with dependencies, and is ready to proceed. A controller that honours it waits (and
// is reconciled again when the annotation changes) instead of acting on an object whose
// dependencies are not ready.
func DependenciesReady(obj metav1.Object) bool {
	v, ok := obj.GetAnnotations()[orchestrationv1alpha1.DependenciesReadyAnnotation]
	return !ok || v == "true"
}
