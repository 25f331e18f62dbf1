package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// eventsTestCoreEvent is a legacy core v1 Event about ConfigMap regarding in namespace default,
// as kubelet-era recorders write them: source, count and first/last timestamps.
func eventsTestCoreEvent(name, regarding, reason, message string, at time.Time) *corev1.Event {
	ts := metav1.NewTime(at)
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: regarding,
		},
		Reason:         reason,
		Message:        message,
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "e2e-syncer", Host: "node-1"},
		Count:          3,
		FirstTimestamp: ts,
		LastTimestamp:  ts,
	}
}

// eventsTestNewEvent is an events.k8s.io/v1 Event about ConfigMap regarding in namespace
// default, as new-style recorders write them: eventTime, reporting controller and action.
func eventsTestNewEvent(name, regarding, reason, note string, at time.Time) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: "default"},
		EventTime:           metav1.NewMicroTime(at),
		ReportingController: "example.com/e2e-controller",
		ReportingInstance:   "e2e-controller-0",
		Action:              "Reconcile",
		Reason:              reason,
		Regarding: corev1.ObjectReference{
			APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: regarding,
		},
		Note: note,
		Type: corev1.EventTypeWarning,
	}
}

// TestEventsCoreVisibleAsEventsV1 creates a core v1 Event and reads it back through
// events.k8s.io/v1: the same object, with the legacy fields under their new names.
func TestEventsCoreVisibleAsEventsV1(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()

	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	created, err := a.Kube.CoreV1().Events("default").Create(ctx, eventsTestCoreEvent("app-config.legacy", "app-config", "Synced", "config synced", at), metav1.CreateOptions{})
	require.NoError(t, err)

	got, err := a.Kube.EventsV1().Events("default").Get(ctx, "app-config.legacy", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, created.UID, got.UID, "events.k8s.io must serve the same object")
	require.Equal(t, created.ResourceVersion, got.ResourceVersion)
	require.Equal(t, created.InvolvedObject, got.Regarding, "involvedObject must become regarding")
	require.Equal(t, "config synced", got.Note, "message must become note")
	require.Equal(t, "Synced", got.Reason)
	require.Equal(t, corev1.EventTypeNormal, got.Type)
	require.Equal(t, corev1.EventSource{Component: "e2e-syncer", Host: "node-1"}, got.DeprecatedSource, "source must become deprecatedSource")
	require.Equal(t, int32(3), got.DeprecatedCount, "count must become deprecatedCount")
	require.True(t, at.Equal(got.DeprecatedFirstTimestamp.Time), "firstTimestamp: want %v, got %v", at, got.DeprecatedFirstTimestamp)
	require.True(t, at.Equal(got.DeprecatedLastTimestamp.Time), "lastTimestamp: want %v, got %v", at, got.DeprecatedLastTimestamp)

	list, err := a.Kube.EventsV1().Events("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	require.Equal(t, created.UID, list.Items[0].UID)

	// A legacy recorder bumps the count through core v1; events.k8s.io serves the change.
	created.Message = "config synced again"
	created.Count = 4
	_, err = a.Kube.CoreV1().Events("default").Update(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	got, err = a.Kube.EventsV1().Events("default").Get(ctx, "app-config.legacy", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "config synced again", got.Note)
	require.Equal(t, int32(4), got.DeprecatedCount)

	// Through events.k8s.io, as in a real cluster, what an event says cannot be rewritten.
	got.Note = "rewritten"
	_, err = a.Kube.EventsV1().Events("default").Update(ctx, got, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	require.Contains(t, err.Error(), "field is immutable")
	core, err := a.Kube.CoreV1().Events("default").Get(ctx, "app-config.legacy", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "config synced again", core.Message)
}

// TestEventsV1VisibleAsCore creates an events.k8s.io/v1 Event and reads it back through core v1.
func TestEventsV1VisibleAsCore(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()

	ev := eventsTestNewEvent("app-config.modern", "app-config", "Reconciled", "reconciled the config", time.Now())
	ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Now())}
	ev.Related = &corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: "default"}
	created, err := a.Kube.EventsV1().Events("default").Create(ctx, ev, metav1.CreateOptions{})
	require.NoError(t, err)

	got, err := a.Kube.CoreV1().Events("default").Get(ctx, "app-config.modern", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, created.UID, got.UID, "core must serve the same object")
	require.Equal(t, created.ResourceVersion, got.ResourceVersion)
	require.Equal(t, created.Regarding, got.InvolvedObject, "regarding must become involvedObject")
	require.Equal(t, created.Related, got.Related)
	require.Equal(t, "reconciled the config", got.Message, "note must become message")
	require.Equal(t, "Reconciled", got.Reason)
	require.Equal(t, corev1.EventTypeWarning, got.Type)
	require.Equal(t, "example.com/e2e-controller", got.ReportingController)
	require.Equal(t, "e2e-controller-0", got.ReportingInstance)
	require.Equal(t, "Reconcile", got.Action)
	require.True(t, created.EventTime.Equal(&got.EventTime), "eventTime: want %v, got %v", created.EventTime, got.EventTime)
	require.NotNil(t, got.Series)
	require.Equal(t, int32(2), got.Series.Count)

	// A new-style recorder updates the series through events.k8s.io; core serves the change.
	created.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(time.Now())}
	_, err = a.Kube.EventsV1().Events("default").Update(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	got, err = a.Kube.CoreV1().Events("default").Get(ctx, "app-config.modern", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(3), got.Series.Count)
}

// TestEventsV1Validation checks that events.k8s.io/v1 validates as strictly as a real cluster,
// naming its own fields, while core v1 keeps the lenient legacy validation.
func TestEventsV1Validation(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()

	tests := []struct {
		name   string
		modify func(*eventsv1.Event)
		want   []string
	}{{
		name:   "missing reporting fields",
		modify: func(ev *eventsv1.Event) { ev.ReportingController, ev.Action = "", "" },
		want:   []string{"reportingController: Required value", "action: Required value"},
	}, {
		name:   "type other than Normal or Warning",
		modify: func(ev *eventsv1.Event) { ev.Type = "Info" },
		want:   []string{"type: Invalid value"},
	}, {
		name:   "deprecated fields set",
		modify: func(ev *eventsv1.Event) { ev.DeprecatedCount = 2 },
		want:   []string{"needs to be unset"},
	}, {
		name: "series of one",
		modify: func(ev *eventsv1.Event) {
			ev.Series = &eventsv1.EventSeries{Count: 1, LastObservedTime: metav1.NowMicro()}
		},
		want: []string{"series.count"},
	}}
	for _, tc := range tests {
		ev := eventsTestNewEvent("bad", "app-config", "Reconciled", "n", time.Now())
		tc.modify(ev)
		_, err := a.Kube.EventsV1().Events("default").Create(ctx, ev, metav1.CreateOptions{})
		require.True(t, apierrors.IsInvalid(err), "%s: want Invalid, got %v", tc.name, err)
		require.Contains(t, err.Error(), `Event "bad" is invalid`, tc.name)
		for _, want := range tc.want {
			require.Contains(t, err.Error(), want, tc.name)
		}
		require.NotContains(t, err.Error(), "reportingComponent", "%s: events.k8s.io has no field reportingComponent", tc.name)
	}

	// Core v1 accepts a legacy event of any type, as a real cluster does.
	legacy := eventsTestCoreEvent("custom-type", "app-config", "Noticed", "m", time.Now())
	legacy.Type = "Info"
	_, err := a.Kube.CoreV1().Events("default").Create(ctx, legacy, metav1.CreateOptions{})
	require.NoError(t, err)
	// Through core v1 the field is called reportingComponent.
	bad := eventsTestCoreEvent("bad", "app-config", "Noticed", "m", time.Now())
	bad.EventTime = metav1.NowMicro()
	_, err = a.Kube.CoreV1().Events("default").Create(ctx, bad, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	require.Contains(t, err.Error(), "reportingComponent: Required value")
}

// TestEventsKubectl lists events with kubectl through both APIs, filters them with field
// selectors, and uses kubectl events --for.
func TestEventsKubectl(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	now := time.Now()

	_, err := a.Kube.CoreV1().Events("default").Create(ctx, eventsTestCoreEvent("app-config.legacy", "app-config", "Synced", "config synced", now.Add(-30*time.Hour)), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = a.Kube.EventsV1().Events("default").Create(ctx, eventsTestNewEvent("db-config.modern", "db-config", "Reconciled", "db config reconciled", now.Add(-time.Minute)), metav1.CreateOptions{})
	require.NoError(t, err)

	t.Run("get events", func(t *testing.T) {
		for _, resource := range []string{"events", "events.events.k8s.io", "ev"} {
			out := framework.Kubectl(t, a.Kubeconfig, "get", resource, "-n", "default")
			header, rows := kubectlTable(t, out)
			// A real cluster prints exactly these columns for events.
			require.Equal(t, []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}, header, "kubectl get %s:\n%s", resource, out)
			require.Len(t, rows, 2, out)
			byObject := map[string]map[string]string{}
			for _, r := range rows {
				byObject[r["OBJECT"]] = r
			}
			require.Equal(t, map[string]string{
				"LAST SEEN": "30h", "TYPE": "Normal", "REASON": "Synced", "OBJECT": "configmap/app-config", "MESSAGE": "config synced",
			}, byObject["configmap/app-config"], out)
			require.Equal(t, "Warning", byObject["configmap/db-config"]["TYPE"], out)
			require.Equal(t, "Reconciled", byObject["configmap/db-config"]["REASON"], out)
			require.Equal(t, "db config reconciled", byObject["configmap/db-config"]["MESSAGE"], out)
		}
		out := framework.Kubectl(t, a.Kubeconfig, "get", "events", "-n", "default", "-o", "wide")
		header, rows := kubectlTable(t, out)
		require.Contains(t, header, "SOURCE", out)
		require.Contains(t, header, "COUNT", out)
		for _, r := range rows {
			if r["OBJECT"] == "configmap/app-config" {
				require.Equal(t, "3", r["COUNT"], out)
				require.Contains(t, r["SOURCE"], "e2e-syncer", out)
			}
		}
	})

	t.Run("core field selectors", func(t *testing.T) {
		tests := []struct {
			selector string
			want     string
		}{
			{selector: "involvedObject.name=app-config", want: "event/app-config.legacy\n"},
			{selector: "involvedObject.name=db-config", want: "event/db-config.modern\n"},
			{selector: "reason=Synced", want: "event/app-config.legacy\n"},
			{selector: "type=Warning", want: "event/db-config.modern\n"},
			{selector: "involvedObject.kind=ConfigMap,type=Normal", want: "event/app-config.legacy\n"},
			{selector: "reason!=Synced", want: "event/db-config.modern\n"},
			{selector: "involvedObject.name=missing", want: ""},
		}
		for _, tc := range tests {
			out := framework.Kubectl(t, a.Kubeconfig, "get", "events", "-n", "default", "--field-selector", tc.selector, "-o", "name")
			require.Equal(t, tc.want, out, "--field-selector %s", tc.selector)
		}
		list, err := a.Kube.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=app-config"})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		require.Equal(t, "app-config.legacy", list.Items[0].Name)

		errOut := framework.KubectlFails(t, a.Kubeconfig, "", "get", "events", "-n", "default", "--field-selector", "message=x")
		require.Contains(t, errOut, "field label not supported: message")
	})

	t.Run("events.k8s.io field selectors", func(t *testing.T) {
		tests := []struct {
			selector string
			want     string
		}{
			{selector: "regarding.name=app-config", want: "event.events.k8s.io/app-config.legacy\n"},
			{selector: "regarding.name=db-config", want: "event.events.k8s.io/db-config.modern\n"},
			{selector: "reportingController=example.com/e2e-controller", want: "event.events.k8s.io/db-config.modern\n"},
			{selector: "type=Normal", want: "event.events.k8s.io/app-config.legacy\n"},
		}
		for _, tc := range tests {
			out := framework.Kubectl(t, a.Kubeconfig, "get", "events.events.k8s.io", "-n", "default", "--field-selector", tc.selector, "-o", "name")
			require.Equal(t, tc.want, out, "--field-selector %s", tc.selector)
		}
		list, err := a.Kube.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=db-config"})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		require.Equal(t, "db-config.modern", list.Items[0].Name)
		require.Equal(t, "db config reconciled", list.Items[0].Note)

		// The core name of the field is not an events.k8s.io field.
		errOut := framework.KubectlFails(t, a.Kubeconfig, "", "get", "events.events.k8s.io", "-n", "default", "--field-selector", "involvedObject.name=app-config")
		require.Contains(t, errOut, "field label not supported: involvedObject.name")
	})

	t.Run("kubectl events", func(t *testing.T) {
		out := framework.Kubectl(t, a.Kubeconfig, "events", "-n", "default", "--for", "configmap/app-config")
		header, rows := kubectlTable(t, out)
		require.Equal(t, []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}, header, out)
		require.Len(t, rows, 1, out)
		require.Equal(t, "Synced", rows[0]["REASON"], out)
		require.Equal(t, "ConfigMap/app-config", rows[0]["OBJECT"], out)
		require.Equal(t, "config synced", rows[0]["MESSAGE"], out)

		out = framework.Kubectl(t, a.Kubeconfig, "events", "-n", "default", "--types", "Warning")
		_, rows = kubectlTable(t, out)
		require.Len(t, rows, 1, out)
		require.Equal(t, "Reconciled", rows[0]["REASON"], out)

		// All events, oldest first.
		out = framework.Kubectl(t, a.Kubeconfig, "events", "-n", "default")
		_, rows = kubectlTable(t, out)
		require.Len(t, rows, 2, out)
		require.Equal(t, "Synced", rows[0]["REASON"], out)
		require.Equal(t, "Reconciled", rows[1]["REASON"], out)
	})
}

// TestEventsIsolation checks that events of one account are invisible in another, through both
// event APIs, kubectl and field selectors, also when both hold events of the same name.
func TestEventsIsolation(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	ctx := t.Context()

	for _, acc := range []*framework.Account{a, b} {
		_, err := acc.Kube.CoreV1().Events("default").Create(ctx, eventsTestCoreEvent("shared.1", "shared", "Synced", "from "+acc.Name, time.Now()), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := a.Kube.CoreV1().Events("default").Create(ctx, eventsTestCoreEvent("only-a.1", "only-a", "Secret", "a-only", time.Now()), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = a.Kube.EventsV1().Events("default").Create(ctx, eventsTestNewEvent("only-a.2", "only-a", "Secret", "a-only", time.Now()), metav1.CreateOptions{})
	require.NoError(t, err)

	for _, acc := range []*framework.Account{a, b} {
		got, err := acc.Kube.CoreV1().Events("default").Get(ctx, "shared.1", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "from "+acc.Name, got.Message)
		gotV1, err := acc.Kube.EventsV1().Events("default").Get(ctx, "shared.1", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "from "+acc.Name, gotV1.Note)
	}

	for _, name := range []string{"only-a.1", "only-a.2"} {
		_, err = b.Kube.CoreV1().Events("default").Get(ctx, name, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "event %s of %s visible in %s: %v", name, a.Path, b.Path, err)
		_, err = b.Kube.EventsV1().Events("default").Get(ctx, name, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "event %s of %s visible in %s through events.k8s.io: %v", name, a.Path, b.Path, err)
	}

	list, err := b.Kube.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1, "events of %s: %v", b.Path, list.Items)
	require.Equal(t, "from "+b.Name, list.Items[0].Message)
	listV1, err := b.Kube.EventsV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, listV1.Items, 1)

	for _, args := range [][]string{
		{"get", "events", "-A", "-o", "name"},
		{"get", "events.events.k8s.io", "-A", "-o", "name"},
		{"get", "events", "-A", "--field-selector", "involvedObject.name=only-a", "-o", "name"},
		{"get", "events.events.k8s.io", "-A", "--field-selector", "regarding.name=only-a", "-o", "name"},
	} {
		out := framework.Kubectl(t, b.Kubeconfig, args...)
		require.NotContains(t, out, "only-a", "kubectl %s in %s", strings.Join(args, " "), b.Path)
	}
	out := framework.Kubectl(t, b.Kubeconfig, "events", "-A")
	require.NotContains(t, out, "a-only")
	require.NotContains(t, out, "from "+a.Name)
	require.Contains(t, out, "from "+b.Name)

	// Deleting in one account leaves the other's event of the same name.
	require.NoError(t, a.Kube.CoreV1().Events("default").Delete(ctx, "shared.1", metav1.DeleteOptions{}))
	_, err = b.Kube.CoreV1().Events("default").Get(ctx, "shared.1", metav1.GetOptions{})
	require.NoError(t, err)
}
