package admissionregistration

import (
	"context"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the admissionregistration.k8s.io/v1 resources, keyed by
// resource name (and resource/status). check refuses the URLs webhooks may not call.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, check CheckURL) (map[string]rest.Storage, error) {
	storages, err := store.NewGroup(scheme, getter, policyOptions(), bindingOptions(), validatingWebhookOptions(check), mutatingWebhookOptions(check))
	if err != nil {
		return nil, fmt.Errorf("failed to create storage for %s: %w", admissionregistrationv1.GroupName, err)
	}
	return storages, nil
}

func policyOptions() store.Options {
	return store.Options{
		Resource:  admissionregistrationv1.Resource("validatingadmissionpolicies"),
		Singular:  "validatingadmissionpolicy",
		New:       func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
		NewList:   func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },
		HasStatus: true,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			DefaultPolicy(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec)
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			DefaultPolicy(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec)
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validatePolicySpec(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec)
		},
		Categories: []string{"api-extensions"},
		Columns: []store.Column{
			{Name: "Validations", Type: "integer", Description: "The number of validations.",
				Value: func(obj runtime.Object) interface{} {
					return len(obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec.Validations)
				}},
			{Name: "ParamKind", Type: "string", Description: "The kind of its parameters.",
				Value: func(obj runtime.Object) interface{} {
					if pk := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec.ParamKind; pk != nil {
						return pk.APIVersion + "/" + pk.Kind
					}
					return "<unset>"
				}},
		},
	}
}

func bindingOptions() store.Options {
	return store.Options{
		Resource: admissionregistrationv1.Resource("validatingadmissionpolicybindings"),
		Singular: "validatingadmissionpolicybinding",
		New:      func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} },
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			DefaultBinding(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec)
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			DefaultBinding(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec)
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateBindingSpec(&obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec)
		},
		Categories: []string{"api-extensions"},
		Columns: []store.Column{
			{Name: "PolicyName", Type: "string", Description: "The policy it binds.",
				Value: func(obj runtime.Object) interface{} {
					return obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.PolicyName
				}},
			{Name: "ValidationActions", Type: "string", Description: "What a failed validation does.",
				Value: func(obj runtime.Object) interface{} {
					actions := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.ValidationActions
					s := make([]string, len(actions))
					for i, a := range actions {
						s[i] = string(a)
					}
					return strings.Join(s, ",")
				}},
		},
	}
}
