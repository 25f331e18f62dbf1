package core

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NamespaceFinalizer is the metadata finalizer every new namespace gets. The namespace
// controller removes it once it has deleted the content of a deleted namespace.
const NamespaceFinalizer = "kubernetes"

func namespaceOptions() store.Options {
	return store.Options{
		Resource:       corev1.Resource("namespaces"),
		Singular:       "namespace",
		New:            func() runtime.Object { return &corev1.Namespace{} },
		NewList:        func() runtime.Object { return &corev1.NamespaceList{} },
		NameValidation: apimachineryvalidation.ValidateNamespaceName,
		HasStatus:      true,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			prepareNamespaceCreate(obj.(*corev1.Namespace))
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			setNamespaceNameLabel(obj.(*corev1.Namespace))
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateNamespace(obj.(*corev1.Namespace))
		},
		ValidateStatusUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
			return validateNamespaceStatus(obj.(*corev1.Namespace))
		},
		AttrFunc:   namespaceAttrs,
		ShortNames: []string{"ns"},
		Columns: []store.Column{{
			Name: "Status", Type: "string", Description: "Phase of the namespace.",
			Value: func(obj runtime.Object) interface{} { return string(obj.(*corev1.Namespace).Status.Phase) },
		}},
	}
}

// prepareNamespaceCreate makes a new namespace Active, adds NamespaceFinalizer and the name
// label a real cluster sets.
func prepareNamespaceCreate(ns *corev1.Namespace) {
	ns.Status.Phase = corev1.NamespaceActive
	if !slices.Contains(ns.Finalizers, NamespaceFinalizer) {
		ns.Finalizers = append(ns.Finalizers, NamespaceFinalizer)
	}
	setNamespaceNameLabel(ns)
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

func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
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
