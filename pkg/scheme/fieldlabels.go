package scheme

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
)

// fieldLabels lists, per kind, the field selectors beyond metadata.name and metadata.namespace
// that the kind supports, as in a real cluster.
var fieldLabels = map[string][]string{
	"Namespace": {"status.phase"},
	"Secret":    {"type"},
	"Event": {
		"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
		"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
	},
}

// accountMeshFieldLabels lists the field selectors of accountmesh.io kinds beyond metadata.name.
var accountMeshFieldLabels = map[schema.GroupVersionKind][]string{
	iamv1alpha1.SchemeGroupVersion.WithKind("Invite"):                      {iamv1alpha1.InviteEmailField},
	authorizationv1alpha1.SchemeGroupVersion.WithKind("AccessibleAccount"): authorizationv1alpha1.AccessibleAccountFields,
}

// eventsV1FieldLabels maps events.k8s.io/v1 field names to the core Event fields they select.
var eventsV1FieldLabels = map[string]string{
	"regarding.kind":            "involvedObject.kind",
	"regarding.namespace":       "involvedObject.namespace",
	"regarding.name":            "involvedObject.name",
	"regarding.uid":             "involvedObject.uid",
	"regarding.apiVersion":      "involvedObject.apiVersion",
	"regarding.resourceVersion": "involvedObject.resourceVersion",
	"regarding.fieldPath":       "involvedObject.fieldPath",
	"reason":                    "reason",
	"reportingController":       "reportingComponent",
	"type":                      "type",
}

func addFieldLabelConversions(s *runtime.Scheme) error {
	all := map[schema.GroupVersionKind][]string{}
	for kind, labels := range fieldLabels {
		all[corev1.SchemeGroupVersion.WithKind(kind)] = labels
	}
	maps.Copy(all, accountMeshFieldLabels)
	for gvk, labels := range all {
		allowed := map[string]bool{"metadata.name": true, "metadata.namespace": true}
		for _, l := range labels {
			allowed[l] = true
		}
		if err := s.AddFieldLabelConversionFunc(gvk, func(label, value string) (string, string, error) {
			if !allowed[label] {
				return "", "", fmt.Errorf("field label not supported: %s", label)
			}
			return label, value, nil
		}); err != nil {
			return err
		}
	}
	return s.AddFieldLabelConversionFunc(eventsv1.SchemeGroupVersion.WithKind("Event"), func(label, value string) (string, string, error) {
		switch label {
		case "metadata.name", "metadata.namespace":
			return label, value, nil
		}
		if core, ok := eventsV1FieldLabels[label]; ok {
			return core, value, nil
		}
		return "", "", fmt.Errorf("field label not supported: %s", label)
	})
}
