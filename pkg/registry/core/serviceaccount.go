package core

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func serviceAccountOptions() store.Options {
	return store.Options{
		Resource:   corev1.Resource("serviceaccounts"),
		Singular:   "serviceaccount",
		New:        func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:    func() runtime.Object { return &corev1.ServiceAccountList{} },
		Namespaced: true,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateServiceAccount(obj.(*corev1.ServiceAccount))
		},
		ShortNames: []string{"sa"},
		Columns: []store.Column{{
			Name: "Secrets", Type: "integer", Description: "Number of secrets referenced by the service account.",
			Value: func(obj runtime.Object) interface{} { return int64(len(obj.(*corev1.ServiceAccount).Secrets)) },
		}},
	}
}

func validateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	var errs field.ErrorList
	for i, ref := range sa.Secrets {
		if ref.Name == "" {
			errs = append(errs, field.Required(field.NewPath("secrets").Index(i).Child("name"), ""))
		}
	}
	for i, ref := range sa.ImagePullSecrets {
		if ref.Name == "" {
			errs = append(errs, field.Required(field.NewPath("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	return errs
}
