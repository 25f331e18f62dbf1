package apis

import (
	"context"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// serviceInstanceOptions serves ServiceInstances: the platform creates them (nobody else may),
// their spec never changes, and whoever may update serviceinstances/status (the shadow
// account's admins: the provider) reports on them.
func serviceInstanceOptions(scheme *runtime.Scheme, deps Deps) (store.Options, error) {
	cel, err := store.NewCELValidator(deps.Definitions, scheme, apisv1alpha1.SchemeGroupVersion.WithKind("ServiceInstance"))
	if err != nil {
		return store.Options{}, err
	}
	instanceOf := func(obj runtime.Object) *apisv1alpha1.ServiceInstance { return obj.(*apisv1alpha1.ServiceInstance) }
	validateStatus := func(s *apisv1alpha1.ServiceInstanceStatus) field.ErrorList {
		return metav1validation.ValidateConditions(s.Conditions, field.NewPath("status", "conditions"))
	}
	return store.Options{
		Resource:  apisv1alpha1.Resource("serviceinstances"),
		Singular:  "serviceinstance",
		New:       func() runtime.Object { return &apisv1alpha1.ServiceInstance{} },
		NewList:   func() runtime.Object { return &apisv1alpha1.ServiceInstanceList{} },
		HasStatus: true,
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			if u, ok := genericapirequest.UserFrom(ctx); !ok || !authorization.IsPrivileged(u) {
				return field.ErrorList{field.Forbidden(field.NewPath("metadata"), "only the platform creates ServiceInstances")}
			}
			si := instanceOf(obj)
			var errs field.ErrorList
			spec := field.NewPath("spec")
			if si.Spec.Export == "" {
				errs = append(errs, field.Required(spec.Child("export"), ""))
			}
			if si.Spec.Consumer.ClusterID == "" {
				errs = append(errs, field.Required(spec.Child("consumer", "clusterID"), ""))
			}
			return append(errs, validateStatus(&si.Status)...)
		},
		ValidateUpdate: cel.Validate,
		ValidateStatusUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			return append(cel.Validate(ctx, obj, old), validateStatus(&instanceOf(obj).Status)...)
		},
		ShortNames: []string{"si"},
		Categories: []string{"accountmesh"},
		Columns: []store.Column{
			{Name: "Export", Type: "string", Description: "The managed service's APIExport.", Value: func(obj runtime.Object) interface{} {
				return instanceOf(obj).Spec.Export
			}},
			{Name: "Consumer", Type: "string", Description: "The consumer organisation's path.", Value: func(obj runtime.Object) interface{} {
				return instanceOf(obj).Spec.Consumer.Path
			}},
			{Name: "Ready", Type: "string", Description: "The Ready condition the provider reports.", Value: func(obj runtime.Object) interface{} {
				for _, c := range instanceOf(obj).Status.Conditions {
					if c.Type == apisv1alpha1.ServiceInstanceConditionReady {
						return string(c.Status)
					}
				}
				return ""
			}},
			{Name: "Endpoint", Type: "string", Description: "Where the consumer reaches the instance.", Value: func(obj runtime.Object) interface{} {
				return instanceOf(obj).Status.Endpoint
			}},
		},
	}, nil
}
