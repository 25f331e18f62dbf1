package flowcontrol

import (
	"context"
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of the flowcontrol.apiserver.k8s.io/v1 resources, keyed by
// resource name (and resource/status).
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	storages, err := store.NewGroup(scheme, getter, flowSchemaOptions(), priorityLevelOptions())
	if err != nil {
		return nil, fmt.Errorf("failed to create storage for %s: %w", flowcontrolv1.GroupName, err)
	}
	return storages, nil
}

func flowSchemaOptions() store.Options {
	return store.Options{
		Resource:  flowcontrolv1.Resource("flowschemas"),
		Singular:  "flowschema",
		New:       func() runtime.Object { return &flowcontrolv1.FlowSchema{} },
		NewList:   func() runtime.Object { return &flowcontrolv1.FlowSchemaList{} },
		HasStatus: true,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			defaultFlowSchema(&obj.(*flowcontrolv1.FlowSchema).Spec)
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			defaultFlowSchema(&obj.(*flowcontrolv1.FlowSchema).Spec)
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateFlowSchemaSpec(&obj.(*flowcontrolv1.FlowSchema).Spec)
		},
		Columns: []store.Column{
			{Name: "PriorityLevel", Type: "string", Description: "The priority level its requests are assigned to.",
				Value: func(obj runtime.Object) interface{} {
					return obj.(*flowcontrolv1.FlowSchema).Spec.PriorityLevelConfiguration.Name
				}},
			{Name: "MatchingPrecedence", Type: "integer", Description: "Lower values match first.",
				Value: func(obj runtime.Object) interface{} { return obj.(*flowcontrolv1.FlowSchema).Spec.MatchingPrecedence }},
			{Name: "DistinguisherMethod", Type: "string", Description: "How flows are told apart.",
				Value: func(obj runtime.Object) interface{} {
					if m := obj.(*flowcontrolv1.FlowSchema).Spec.DistinguisherMethod; m != nil {
						return string(m.Type)
					}
					return "<none>"
				}},
		},
	}
}

func priorityLevelOptions() store.Options {
	return store.Options{
		Resource:  flowcontrolv1.Resource("prioritylevelconfigurations"),
		Singular:  "prioritylevelconfiguration",
		New:       func() runtime.Object { return &flowcontrolv1.PriorityLevelConfiguration{} },
		NewList:   func() runtime.Object { return &flowcontrolv1.PriorityLevelConfigurationList{} },
		HasStatus: true,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			defaultPriorityLevel(&obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec)
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			defaultPriorityLevel(&obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec)
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			pl := obj.(*flowcontrolv1.PriorityLevelConfiguration)
			return validatePriorityLevelSpec(pl.Name, &pl.Spec)
		},
		Columns: []store.Column{
			{Name: "Type", Type: "string", Description: "Exempt or Limited.",
				Value: func(obj runtime.Object) interface{} {
					return string(obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec.Type)
				}},
			{Name: "NominalConcurrencyShares", Type: "integer", Description: "Its share of the server's concurrency.",
				Value: func(obj runtime.Object) interface{} {
					if l := obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec.Limited; l != nil && l.NominalConcurrencyShares != nil {
						return *l.NominalConcurrencyShares
					}
					return "<none>"
				}},
		},
	}
}
