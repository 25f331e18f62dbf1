package core

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
)

// legacyEvent is a valid event as client-go's legacy recorder writes it.
func legacyEvent(modify func(*corev1.Event)) *corev1.Event {
	ev := &corev1.Event{
		ObjectMeta:     objectMeta("pod-a.1"),
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-a"},
		Reason:         "Started",
		Message:        "Started container",
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet"},
	}
	if modify != nil {
		modify(ev)
	}
	return ev
}

// newStyleEvent is a valid event as events.k8s.io clients write it.
func newStyleEvent(modify func(*corev1.Event)) *corev1.Event {
	ev := &corev1.Event{
		ObjectMeta:          objectMeta("e"),
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: "example.com/controller",
		ReportingInstance:   "controller-0",
		Action:              "Reconcile",
		Reason:              "Synced",
		Type:                corev1.EventTypeNormal,
	}
	if modify != nil {
		modify(ev)
	}
	return ev
}

func TestValidateEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event *corev1.Event
		want  []string
	}{
		{name: "legacy", event: legacyEvent(nil)},
		{name: "legacy long message", event: legacyEvent(func(ev *corev1.Event) { ev.Message = strings.Repeat("x", 10000) })},
		{name: "legacy cluster-scoped object", event: legacyEvent(func(ev *corev1.Event) {
			ev.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-a"}
		})},
		{name: "legacy without object", event: legacyEvent(func(ev *corev1.Event) { ev.InvolvedObject = corev1.ObjectReference{} }),
			want: []string{"involvedObject.kind", "involvedObject.name"}},
		{name: "legacy with reporting controller and no object", event: legacyEvent(func(ev *corev1.Event) {
			ev.InvolvedObject = corev1.ObjectReference{}
			ev.ReportingController = "example.com/controller"
		})},
		{name: "namespace mismatch", event: legacyEvent(func(ev *corev1.Event) { ev.InvolvedObject.Namespace = "other" }),
			want: []string{"involvedObject.namespace"}},
		{name: "reason too long", event: legacyEvent(func(ev *corev1.Event) { ev.Reason = strings.Repeat("r", maxEventReasonLength+1) }),
			want: []string{"reason"}},
		{name: "reason at the limit", event: legacyEvent(func(ev *corev1.Event) { ev.Reason = strings.Repeat("r", maxEventReasonLength) })},
		{name: "new style", event: newStyleEvent(nil)},
		{name: "new style with object", event: newStyleEvent(func(ev *corev1.Event) {
			ev.InvolvedObject = corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "pod-a"}
		})},
		{name: "new style missing fields", event: newStyleEvent(func(ev *corev1.Event) {
			ev.ReportingController, ev.ReportingInstance, ev.Action, ev.Reason = "", "", "", ""
		}), want: []string{"reportingComponent", "reportingInstance", "action", "reason"}},
		{name: "new style invalid controller", event: newStyleEvent(func(ev *corev1.Event) { ev.ReportingController = "not a name" }),
			want: []string{"reportingComponent"}},
		{name: "new style too long", event: newStyleEvent(func(ev *corev1.Event) {
			ev.ReportingInstance = strings.Repeat("i", maxEventInstanceLength+1)
			ev.Action = strings.Repeat("a", maxEventActionLength+1)
			ev.Message = strings.Repeat("m", maxEventNoteLength+1)
		}), want: []string{"reportingInstance", "action", "message"}},
		{name: "new style message at the limit", event: newStyleEvent(func(ev *corev1.Event) {
			ev.Message = strings.Repeat("m", maxEventNoteLength)
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateEvent(tc.event)))
		})
	}
}

func TestEventAttrs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		event      *corev1.Event
		wantSource string
	}{
		{name: "legacy source", event: legacyEvent(func(ev *corev1.Event) { ev.ReportingController = "kubelet-ctl" }), wantSource: "kubelet"},
		{name: "reporting controller", event: legacyEvent(func(ev *corev1.Event) {
			ev.Source = corev1.EventSource{}
			ev.ReportingController = "kubelet-ctl"
		}), wantSource: "kubelet-ctl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, f, err := eventAttrs(tc.event)
			require.NoError(t, err)
			require.Equal(t, fields.Set{
				"metadata.name":                  "pod-a.1",
				"metadata.namespace":             "default",
				"involvedObject.kind":            "Pod",
				"involvedObject.namespace":       "default",
				"involvedObject.name":            "pod-a",
				"involvedObject.uid":             "",
				"involvedObject.apiVersion":      "",
				"involvedObject.resourceVersion": "",
				"involvedObject.fieldPath":       "",
				"reason":                         "Started",
				"reportingComponent":             "kubelet-ctl",
				"source":                         tc.wantSource,
				"type":                           "Normal",
			}, f)
		})
	}
}

func TestEventLastSeen(t *testing.T) {
	t.Parallel()
	ago := func(d time.Duration) time.Time { return time.Now().Add(-d) }
	tests := []struct {
		name  string
		event *corev1.Event
		want  string
	}{
		{name: "never", event: &corev1.Event{}, want: "<unknown>"},
		{name: "last timestamp", event: &corev1.Event{
			LastTimestamp: metav1.NewTime(ago(5 * time.Minute)), EventTime: metav1.NewMicroTime(ago(time.Hour)),
		}, want: "5m"},
		{name: "event time", event: &corev1.Event{EventTime: metav1.NewMicroTime(ago(2 * time.Hour))}, want: "120m"},
		{name: "series", event: &corev1.Event{
			EventTime: metav1.NewMicroTime(ago(time.Hour)),
			Series:    &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(ago(30 * time.Second))},
		}, want: "30s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, eventLastSeen(tc.event))
		})
	}
}

func TestValidateEventsAPI(t *testing.T) {
	t.Parallel()
	at := metav1.NewMicroTime(time.Now())
	tests := []struct {
		name  string
		event *corev1.Event
		want  []string
	}{
		{name: "new style", event: newStyleEvent(nil)},
		{name: "missing fields named as in events.k8s.io", event: newStyleEvent(func(ev *corev1.Event) {
			ev.ReportingController, ev.Action = "", ""
		}), want: []string{"reportingController", "action"}},
		{name: "no event time", event: legacyEvent(func(ev *corev1.Event) { ev.Source = corev1.EventSource{} }),
			want: []string{"eventTime"}},
		{name: "other type", event: newStyleEvent(func(ev *corev1.Event) { ev.Type = "Info" }), want: []string{"type"}},
		{name: "deprecated fields", event: newStyleEvent(func(ev *corev1.Event) {
			ev.Count = 2
			ev.Source = corev1.EventSource{Host: "node-a"}
			ev.FirstTimestamp = metav1.Now()
			ev.LastTimestamp = metav1.Now()
		}), want: []string{"count", "source", "firstTimestamp", "lastTimestamp"}},
		{name: "series", event: newStyleEvent(func(ev *corev1.Event) {
			ev.Series = &corev1.EventSeries{Count: 2, LastObservedTime: at}
		})},
		{name: "short series", event: newStyleEvent(func(ev *corev1.Event) { ev.Series = &corev1.EventSeries{Count: 1} }),
			want: []string{"series.count", "series.lastObservedTime"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateEventsAPICreate(tc.event)))
		})
	}
}

func TestValidateEventsAPIUpdate(t *testing.T) {
	t.Parallel()
	old := newStyleEvent(func(ev *corev1.Event) {
		ev.Message = "note"
		ev.Series = &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Now())}
	})
	tests := []struct {
		name   string
		modify func(*corev1.Event)
		want   []string
	}{
		{name: "series", modify: func(ev *corev1.Event) {
			ev.Series = &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(time.Now())}
		}},
		{name: "labels", modify: func(ev *corev1.Event) { ev.Labels = map[string]string{"a": "b"} }},
		{name: "sub-microsecond event time", modify: func(ev *corev1.Event) {
			ev.EventTime = metav1.NewMicroTime(ev.EventTime.Truncate(time.Microsecond))
		}},
		{name: "short series", modify: func(ev *corev1.Event) { ev.Series.Count = 1 }, want: []string{"series.count"}},
		{name: "note", modify: func(ev *corev1.Event) { ev.Message = "other" }, want: []string{"message"}},
		{name: "what happened", modify: func(ev *corev1.Event) {
			ev.Reason, ev.Type, ev.Action = "Other", corev1.EventTypeWarning, "Other"
			ev.InvolvedObject.Name = "other"
			ev.EventTime = metav1.NewMicroTime(ev.EventTime.Add(time.Second))
		}, want: []string{"reason", "type", "action", "involvedObject", "eventTime"}},
		{name: "reporter", modify: func(ev *corev1.Event) {
			ev.ReportingController, ev.ReportingInstance = "example.com/other", "other-0"
		}, want: []string{"reportingController", "reportingInstance"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := old.DeepCopy()
			tc.modify(ev)
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateEventsAPIUpdate(ev, old)))
		})
	}
}

func TestEventColumns(t *testing.T) {
	t.Parallel()
	convertor := store.NewColumnsTableConvertor(corev1.Resource("events"), eventColumns...)
	ev := legacyEvent(func(ev *corev1.Event) { ev.LastTimestamp = metav1.NewTime(time.Now().Add(-time.Hour)) })
	table, err := convertor.ConvertToTable(t.Context(), ev, nil)
	require.NoError(t, err)
	var names []string
	var wide []bool
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
		wide = append(wide, c.Priority > 0)
	}
	require.Equal(t, []string{"Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"}, names)
	require.Equal(t, []bool{false, false, false, false, true, true, false, true, true, true}, wide)
	require.Equal(t, []interface{}{
		"60m", "Normal", "Started", "pod/pod-a", "", "kubelet", "Started container", "<unknown>", int64(1), "pod-a.1",
	}, table.Rows[0].Cells)
}
