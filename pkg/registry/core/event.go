package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
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
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			if viaEventsAPI(ctx) {
				return validateEventsAPICreate(obj.(*corev1.Event))
			}
			return validateEvent(obj.(*corev1.Event))
		},
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			if viaEventsAPI(ctx) {
				return validateEventsAPIUpdate(obj.(*corev1.Event), old.(*corev1.Event))
			}
			return validateEvent(obj.(*corev1.Event))
		},
		AttrFunc:   eventAttrs,
		ShortNames: []string{"ev"},
		Table:      store.NewColumnsTableConvertor(corev1.Resource("events"), eventColumns...),
	}
}

// eventColumns are the columns a real cluster prints for events: no NAME first and no AGE.
var eventColumns = []store.Column{{
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
		if o.Name == "" {
			return strings.ToLower(o.Kind)
		}
		return strings.ToLower(o.Kind) + "/" + o.Name
	},
}, {
	Name: "Subobject", Type: "string", Description: "Field of the object the event is about.", Priority: 1,
	Value: func(obj runtime.Object) interface{} { return obj.(*corev1.Event).InvolvedObject.FieldPath },
}, {
	Name: "Source", Type: "string", Description: "Component that reported the event.", Priority: 1,
	Value: func(obj runtime.Object) interface{} { return eventSource(obj.(*corev1.Event)) },
}, {
	Name: "Message", Type: "string", Description: "Human readable message of the event.",
	Value: func(obj runtime.Object) interface{} { return strings.TrimSpace(obj.(*corev1.Event).Message) },
}, {
	Name: "First Seen", Type: "string", Description: "Time since the event was first observed.", Priority: 1,
	Value: func(obj runtime.Object) interface{} { return eventFirstSeen(obj.(*corev1.Event)) },
}, {
	Name: "Count", Type: "integer", Description: "Number of times the event occurred.", Priority: 1,
	Value: func(obj runtime.Object) interface{} { return int64(eventCount(obj.(*corev1.Event))) },
}, {
	Name: "Name", Type: "string", Format: "name", Description: "Name of the event.", Priority: 1,
	Value: func(obj runtime.Object) interface{} { return obj.(*corev1.Event).Name },
}}

// viaEventsAPI reports whether a request came through events.k8s.io, whose writes a real
// cluster validates more strictly than those through core v1.
func viaEventsAPI(ctx context.Context) bool {
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	return ok && info.APIGroup == eventsv1.GroupName
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

// eventCount is how often an event occurred; an event without a count occurred once.
func eventCount(ev *corev1.Event) int32 {
	switch {
	case ev.Series != nil:
		return ev.Series.Count
	case ev.Count == 0:
		return 1
	}
	return ev.Count
}

// eventFirstSeen is the time since an event was first observed.
func eventFirstSeen(ev *corev1.Event) string {
	if !ev.FirstTimestamp.IsZero() {
		return duration.HumanDuration(time.Since(ev.FirstTimestamp.Time))
	}
	if !ev.EventTime.IsZero() {
		return duration.HumanDuration(time.Since(ev.EventTime.Time))
	}
	return "<unknown>"
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

// validateEvent validates an event written through core v1: both legacy events and
// events.k8s.io style events, which set eventTime and the reporting fields.
func validateEvent(ev *corev1.Event) field.ErrorList {
	return validateEventAs(ev, field.NewPath("reportingComponent"))
}

// validateEventAs validates an event, naming the reporting controller controllerPath, as the
// API the event is written through calls it.
func validateEventAs(ev *corev1.Event, controllerPath *field.Path) field.ErrorList {
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

// validateEventsAPICreate validates an event created through events.k8s.io: as a real
// cluster, it requires eventTime, a Normal or Warning type and a valid series, and rejects the
// deprecated legacy fields.
func validateEventsAPICreate(ev *corev1.Event) field.ErrorList {
	errs := validateEventAs(ev, field.NewPath("reportingController"))
	errs = append(errs, validateEventSeries(ev)...)
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), ev.Type, "must be Normal or Warning"))
	}
	unset := func(name string, isSet bool) {
		if isSet {
			errs = append(errs, field.Invalid(field.NewPath(name), "", "needs to be unset"))
		}
	}
	unset("firstTimestamp", !ev.FirstTimestamp.IsZero())
	unset("lastTimestamp", !ev.LastTimestamp.IsZero())
	unset("count", ev.Count != 0)
	unset("source", ev.Source != corev1.EventSource{})
	return errs
}

// validateEventsAPIUpdate validates an event updated through events.k8s.io: as in a real
// cluster, only its series and metadata may change.
func validateEventsAPIUpdate(ev, old *corev1.Event) field.ErrorList {
	errs := validateEventAs(ev, field.NewPath("reportingController"))
	if !apiequality.Semantic.DeepEqual(ev.Series, old.Series) {
		errs = append(errs, validateEventSeries(ev)...)
	}
	for _, f := range []struct {
		name               string
		newValue, oldValue interface{}
	}{
		{"involvedObject", ev.InvolvedObject, old.InvolvedObject},
		{"reason", ev.Reason, old.Reason},
		{"message", ev.Message, old.Message},
		{"source", ev.Source, old.Source},
		{"firstTimestamp", ev.FirstTimestamp, old.FirstTimestamp},
		{"lastTimestamp", ev.LastTimestamp, old.LastTimestamp},
		{"count", ev.Count, old.Count},
		{"type", ev.Type, old.Type},
		{"eventTime", metav1.NewMicroTime(ev.EventTime.Truncate(time.Microsecond)), metav1.NewMicroTime(old.EventTime.Truncate(time.Microsecond))},
		{"action", ev.Action, old.Action},
		{"related", ev.Related, old.Related},
		{"reportingController", ev.ReportingController, old.ReportingController},
		{"reportingInstance", ev.ReportingInstance, old.ReportingInstance},
	} {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(f.newValue, f.oldValue, field.NewPath(f.name))...)
	}
	return errs
}

// validateEventSeries requires a series to count at least two occurrences and to say when it
// saw the last one.
func validateEventSeries(ev *corev1.Event) field.ErrorList {
	if ev.Series == nil {
		return nil
	}
	var errs field.ErrorList
	if ev.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series", "count"), ev.Series.Count, "should be at least 2"))
	}
	if ev.Series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
	}
	return errs
}
