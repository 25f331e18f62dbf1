package core

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/accountmesh/accountmesh/pkg/quota"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func resourceQuotaOptions() store.Options {
	return store.Options{
		Resource:   corev1.Resource("resourcequotas"),
		Singular:   "resourcequota",
		New:        func() runtime.Object { return &corev1.ResourceQuota{} },
		NewList:    func() runtime.Object { return &corev1.ResourceQuotaList{} },
		Namespaced: true,
		HasStatus:  true,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateQuotaSpec(&obj.(*corev1.ResourceQuota).Spec)
		},
		ValidateStatusUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
			s := obj.(*corev1.ResourceQuota).Status
			return append(validateQuantities(s.Hard, field.NewPath("status", "hard")), validateQuantities(s.Used, field.NewPath("status", "used"))...)
		},
		ShortNames: []string{"quota"},
	}
}

// validateQuotaSpec accepts object counts only: there are no pods, so no compute resources.
func validateQuotaSpec(spec *corev1.ResourceQuotaSpec) field.ErrorList {
	p := field.NewPath("spec", "hard")
	errs := validateQuantities(spec.Hard, p)
	for name := range spec.Hard {
		if _, _, ok := quota.ObjectCount(name); !ok {
			errs = append(errs, field.Invalid(p.Key(string(name)), name,
				"only object counts are supported: count/<resource>.<group>, count/<resource> for the core group, or configmaps, secrets, services, ..."))
		}
	}
	if len(spec.Scopes) > 0 || spec.ScopeSelector != nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "scopes"), "scopes are not supported: there are no pods to scope"))
	}
	return errs
}

func validateQuantities(list corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
		if q.Cmp(*resource.NewQuantity(q.Value(), resource.DecimalSI)) != 0 {
			errs = append(errs, field.Invalid(p.Key(string(name)), q.String(), "must be an integer"))
		}
	}
	return errs
}
