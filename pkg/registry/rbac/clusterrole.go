package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

func clusterRoleOptions() store.Options {
	return store.Options{
		Resource:       rbacv1.Resource("clusterroles"),
		Singular:       "clusterrole",
		New:            func() runtime.Object { return &rbacv1.ClusterRole{} },
		NewList:        func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		NameValidation: validatePathSegmentName,
		// A real cluster prints roles with the default NAME and CREATED AT columns.
		Table: rest.NewDefaultTableConvertor(rbacv1.Resource("clusterroles")),
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			r := obj.(*rbacv1.ClusterRole)
			errs := validateClusterRole(r)
			if authorization.IsBuiltinRole(r.Name) {
				msg := "is a built-in ClusterRole of every account"
				if label, ok := authorization.AggregationLabel(r.Name); ok {
					msg += "; add rules to it with a ClusterRole labelled " + label + "=true"
				}
				errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), r.Name, msg))
			}
			return errs
		},
	}
}

func validateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	errs := validateRules(r.Rules, false)
	if r.AggregationRule == nil {
		return errs
	}
	selectors := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(selectors, "at least one selector is required when aggregationRule is set"))
	}
	for i := range r.AggregationRule.ClusterRoleSelectors {
		errs = append(errs, metav1validation.ValidateLabelSelector(&r.AggregationRule.ClusterRoleSelectors[i],
			metav1validation.LabelSelectorValidationOptions{}, selectors.Index(i))...)
	}
	return errs
}
