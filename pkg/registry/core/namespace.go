package core

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NamespaceFinalizer is the spec finalizer every new namespace gets. The namespace controller
// removes it through the finalize subresource once it has deleted the namespace's content.
const NamespaceFinalizer = corev1.FinalizerKubernetes

func namespaceOptions() store.Options {
	return store.Options{
		Resource:       corev1.Resource("namespaces"),
		Singular:       "namespace",
		New:            func() runtime.Object { return &corev1.Namespace{} },
		NewList:        func() runtime.Object { return &corev1.NamespaceList{} },
		NameValidation: apimachineryvalidation.ValidateNamespaceName,
		HasStatus:      true,
		// As upstream: a status update may change labels and annotations too.
		StatusUpdatesMetadata: true,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			prepareNamespaceCreate(obj.(*corev1.Namespace))
		},
		PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
			prepareNamespaceUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
		},
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			return append(validateNamespace(obj.(*corev1.Namespace)), validateTenantSpaceLabel(ctx, obj.(*corev1.Namespace), nil)...)
		},
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			return append(validateNamespace(obj.(*corev1.Namespace)), validateTenantSpaceLabel(ctx, obj.(*corev1.Namespace), old.(*corev1.Namespace))...)
		},
		ValidateStatusUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			return append(validateNamespaceStatus(obj.(*corev1.Namespace)), validateTenantSpaceLabel(ctx, obj.(*corev1.Namespace), old.(*corev1.Namespace))...)
		},
		Subresources: []store.Subresource{{
			Name: "finalize",
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				prepareNamespaceFinalize(obj.(*corev1.Namespace), old.(*corev1.Namespace))
			},
			ResetFields: []string{"metadata", "status"},
		}},
		ShouldDeleteDuringUpdate: func(_ context.Context, _ string, obj, _ runtime.Object) bool {
			ns, ok := obj.(*corev1.Namespace)
			return ok && len(ns.Spec.Finalizers) == 0
		},
		AttrFunc:   namespaceAttrs,
		ShortNames: []string{"ns"},
		Columns: []store.Column{{
			Name: "Status", Type: "string", Description: "Phase of the namespace.",
			Value: func(obj runtime.Object) interface{} { return string(obj.(*corev1.Namespace).Status.Phase) },
		}},
	}
}

// validateTenantSpaceLabel refuses to set, change or remove the tenant space label but for the
// platform (system:masters): a consumer cannot label its way into a binding's tenant space.
func validateTenantSpaceLabel(ctx context.Context, ns, old *corev1.Namespace) field.ErrorList {
	v, ok := ns.Labels[apisv1alpha1.TenantSpaceLabel]
	var oldV string
	var oldOK bool
	if old != nil {
		oldV, oldOK = old.Labels[apisv1alpha1.TenantSpaceLabel]
	}
	if ok == oldOK && v == oldV {
		return nil
	}
	if u, hasUser := genericapirequest.UserFrom(ctx); hasUser && slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup) {
		return nil
	}
	return field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels").Key(apisv1alpha1.TenantSpaceLabel), "only the platform sets it")}
}

// prepareNamespaceCreate makes a new namespace Active, adds NamespaceFinalizer to its spec
// finalizers and sets the name label a real cluster sets.
func prepareNamespaceCreate(ns *corev1.Namespace) {
	ns.Status.Phase = corev1.NamespaceActive
	if !slices.Contains(ns.Spec.Finalizers, NamespaceFinalizer) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, NamespaceFinalizer)
	}
	setNamespaceNameLabel(ns)
}

// prepareNamespaceUpdate keeps the spec finalizers, which only the finalize subresource
// changes, and the name label.
func prepareNamespaceUpdate(ns, old *corev1.Namespace) {
	ns.Spec.Finalizers = old.Spec.Finalizers
	setNamespaceNameLabel(ns)
}

// prepareNamespaceFinalize takes only the spec finalizers of ns, a finalize request, and
// everything else from the stored namespace old.
func prepareNamespaceFinalize(ns, old *corev1.Namespace) {
	finalizers, managedFields := ns.Spec.Finalizers, ns.ManagedFields
	*ns = *old.DeepCopy()
	ns.Spec.Finalizers, ns.ManagedFields = finalizers, managedFields
}

// setNamespaceNameLabel sets the immutable kubernetes.io/metadata.name label to the name.
func setNamespaceNameLabel(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// namespaceAttrs returns the labels and the selectable fields of a Namespace.
func namespaceAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, nil, fmt.Errorf("failed to read selectable fields: %T is not a Namespace", obj)
	}
	fs := generic.AddObjectMetaFieldsSet(fields.Set{"status.phase": string(ns.Status.Phase)}, &ns.ObjectMeta, false)
	return ns.Labels, fs, nil
}

// validateNamespace checks the spec finalizers: qualified names, and either one of the
// standard finalizers or prefixed by a domain, as a real cluster requires.
func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	for i, f := range ns.Spec.Finalizers {
		p := field.NewPath("spec", "finalizers").Index(i)
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(string(f), p)...)
		if !strings.Contains(string(f), "/") && !isStandardFinalizer(string(f)) {
			errs = append(errs, field.Invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// isStandardFinalizer reports whether f is one of the finalizers Kubernetes defines without a
// domain.
func isStandardFinalizer(f string) bool {
	switch f {
	case string(corev1.FinalizerKubernetes), metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents:
		return true
	}
	return false
}

// validateNamespaceStatus allows the phase Active until the namespace is deleted and
// Terminating after.
func validateNamespaceStatus(ns *corev1.Namespace) field.ErrorList {
	p := field.NewPath("status", "phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
		return nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is set")}
	}
	return nil
}
