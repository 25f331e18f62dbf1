package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Length limits of event fields, as in a real cluster. Legacy events (without eventTime) have
// no limit on the message.
const (
	maxEventReasonLength   = 128
	maxEventActionLength   = 128
	maxEventInstanceLength = 128
	maxEventNoteLength     = 1024
)

// eventTTL is how long events are kept after their last update, as a real cluster's default
// --event-ttl.
const eventTTL = time.Hour

func eventOptions() store.Options {
	return store.Options{
		TTL:        eventTTL,
		Resource:   corev1.Resource("events"),
		Singular:   "event",
		New:        func() runtime.Object { return &corev1.Event{} },
		NewList:    func() runtime.Object { return &corev1.EventList{} },
		Namespaced: true,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateEvent(obj.(*corev1.Event))
		},
		AttrFunc:   eventAttrs,
		ShortNames: []string{"ev"},
		Columns: []store.Column{{
			Name: "Last Seen", Type: "string", Description: "Time since the event was last observed.",
			Value: func(obj runtime.Object) interface{} { return eventLastSeen(obj.(*corev1.Event)) },
		}, {
			Name: "Type", Type: "string", Description: "Type of the event: Normal or Warning.",
			Value: func(obj runtime.Object) interface{} { return obj.(*corev1.Event).Type },
		}, {
			Name: "Reason", Type: "string", Description: "Short reason of the event.",
			Value: func(obj runtime.Object) interface{} { return obj.(*corev1.Event).Reason },
		}, {
			Name: "Object", Type: "string", Description: "Object the event is about.",
			Value: func(obj runtime.Object) interface{} {
				o := obj.(*corev1.Event).InvolvedObject
				return strings.ToLower(o.Kind) + "/" + o.Name
			},
		}, {
			Name: "Source", Type: "string", Description: "Component that reported the event.", Priority: 1,
			Value: func(obj runtime.Object) interface{} { return eventSource(obj.(*corev1.Event)) },
		}, {
			Name: "Count", Type: "integer", Description: "Number of times the event occurred.", Priority: 1,
			Value: func(obj runtime.Object) interface{} { return int64(eventCount(obj.(*corev1.Event))) },
		}, {
			Name: "Message", Type: "string", Description: "Human readable message of the event.",
			Value: func(obj runtime.Object) interface{} { return strings.TrimSpace(obj.(*corev1.Event).Message) },
		}},
	}
}

// eventAttrs returns the labels and the selectable fields of an Event, the ones a real cluster
// supports.
func eventAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return nil, nil, fmt.Errorf("failed to read selectable fields: %T is not an Event", obj)
	}
	o := ev.InvolvedObject
	fs := generic.AddObjectMetaFieldsSet(fields.Set{
		"involvedObject.kind":            o.Kind,
		"involvedObject.namespace":       o.Namespace,
		"involvedObject.name":            o.Name,
		"involvedObject.uid":             string(o.UID),
		"involvedObject.apiVersion":      o.APIVersion,
		"involvedObject.resourceVersion": o.ResourceVersion,
		"involvedObject.fieldPath":       o.FieldPath,
		"reason":                         ev.Reason,
		"reportingComponent":             ev.ReportingController,
		"source":                         eventSource(ev),
		"type":                           ev.Type,
	}, &ev.ObjectMeta, true)
	return ev.Labels, fs, nil
}

// eventSource is the component that reported an event, from the legacy source or else the
// reporting controller.
func eventSource(ev *corev1.Event) string {
	if ev.Source.Component != "" {
		return ev.Source.Component
	}
	return ev.ReportingController
}

func eventCount(ev *corev1.Event) int32 {
	if ev.Series != nil {
		return ev.Series.Count
	}
	return ev.Count
}

// eventLastSeen is the time since an event was last observed, from the newest of its series,
// lastTimestamp and eventTime.
func eventLastSeen(ev *corev1.Event) string {
	var last time.Time
	switch {
	case ev.Series != nil && !ev.Series.LastObservedTime.IsZero():
		last = ev.Series.LastObservedTime.Time
	case !ev.LastTimestamp.IsZero():
		last = ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		last = ev.EventTime.Time
	default:
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(last))
}

// validateEvent validates both legacy events and events.k8s.io style events, which set
// eventTime and the reporting fields.
func validateEvent(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	objPath := field.NewPath("involvedObject")
	if ev.InvolvedObject.Namespace != "" && ev.Namespace != "" && ev.InvolvedObject.Namespace != ev.Namespace {
		errs = append(errs, field.Invalid(objPath.Child("namespace"), ev.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	if len(ev.Reason) > maxEventReasonLength {
		errs = append(errs, field.TooLong(field.NewPath("reason"), "", maxEventReasonLength))
	}

	if ev.EventTime.IsZero() && ev.ReportingController == "" {
		// A legacy event is always about an object.
		if ev.InvolvedObject.Kind == "" {
			errs = append(errs, field.Required(objPath.Child("kind"), ""))
		}
		if ev.InvolvedObject.Name == "" {
			errs = append(errs, field.Required(objPath.Child("name"), ""))
		}
	}
	if ev.EventTime.IsZero() {
		return errs
	}

	controllerPath := field.NewPath("reportingComponent")
	if ev.ReportingController == "" {
		errs = append(errs, field.Required(controllerPath, ""))
	} else {
		for _, msg := range validation.IsQualifiedName(ev.ReportingController) {
			errs = append(errs, field.Invalid(controllerPath, ev.ReportingController, msg))
		}
	}
	errs = append(errs, requiredWithLimit(field.NewPath("reportingInstance"), ev.ReportingInstance, maxEventInstanceLength)...)
	errs = append(errs, requiredWithLimit(field.NewPath("action"), ev.Action, maxEventActionLength)...)
	if ev.Reason == "" {
		errs = append(errs, field.Required(field.NewPath("reason"), ""))
	}
	if len(ev.Message) > maxEventNoteLength {
		errs = append(errs, field.TooLong(field.NewPath("message"), "", maxEventNoteLength))
	}
	return errs
}

// requiredWithLimit requires a non-empty value of at most limit bytes.
func requiredWithLimit(p *field.Path, value string, limit int) field.ErrorList {
	switch {
	case value == "":
		return field.ErrorList{field.Required(p, "")}
	case len(value) > limit:
		return field.ErrorList{field.TooLong(p, "", limit)}
	}
	return nil
}
