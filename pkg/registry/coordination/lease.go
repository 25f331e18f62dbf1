package coordination

import (
	"context"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func leaseOptions() store.Options {
	return store.Options{
		Resource:   coordinationv1.Resource("leases"),
		Singular:   "lease",
		New:        func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:    func() runtime.Object { return &coordinationv1.LeaseList{} },
		Namespaced: true,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateLeaseSpec(&obj.(*coordinationv1.Lease).Spec)
		},
		Columns: []store.Column{{
			Name: "Holder", Type: "string", Description: "Identity of the holder of the lease.",
			Value: func(obj runtime.Object) interface{} {
				if h := obj.(*coordinationv1.Lease).Spec.HolderIdentity; h != nil {
					return *h
				}
				return ""
			},
		}},
	}
}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if d := spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if spec.Strategy != nil {
		errs = append(errs, validateStrategy(*spec.Strategy, p.Child("strategy"))...)
	}
	if h := spec.PreferredHolder; h != nil && *h != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "may only be set when `strategy` is set"))
	}
	return errs
}

// validateStrategy accepts the strategies Kubernetes defines and custom ones with a domain
// prefix.
func validateStrategy(s coordinationv1.CoordinatedLeaseStrategy, p *field.Path) field.ErrorList {
	if strings.Contains(string(s), "/") {
		var errs field.ErrorList
		for _, msg := range validation.IsQualifiedName(string(s)) {
			errs = append(errs, field.Invalid(p, s, msg))
		}
		return errs
	}
	if s != coordinationv1.OldestEmulationVersion {
		return field.ErrorList{field.NotSupported(p, s, []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion})}
	}
	return nil
}
