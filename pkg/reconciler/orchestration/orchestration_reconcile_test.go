package orchestration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// world is what the stubbed steps of the reconciler see: members by account/name, what the
// requester may read, the context and what was written.
type world struct {
	oc       *orchestrationv1alpha1.OrchestrationContext
	objects  map[string]*unstructured.Unstructured
	denied   map[string]bool
	writes   int
	events   []string
	watching map[sourceKey]string
	gates    []string
	deleted  []string
}

func gadget(name string, ready string) *unstructured.Unstructured {
	obj := map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": map[string]any{"name": name, "generation": int64(2)},
		"spec": map[string]any{"secret": "do-not-copy"}}
	if ready != "" {
		obj["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready, "message": name + " " + ready}}}
	}
	return &unstructured.Unstructured{Object: obj}
}

func newWorld() *world {
	members := []orchestrationv1alpha1.Member{
		{Name: "db", Ref: &orchestrationv1alpha1.MemberReference{Account: "root:data", APIVersion: "example.com/v1", Kind: "Gadget", Namespace: "default", Name: "db"}},
		{Name: "app", DependsOn: []string{"db"}, Ref: &orchestrationv1alpha1.MemberReference{APIVersion: "example.com/v1", Kind: "Gadget", Namespace: "default", Name: "app"}},
	}
	return &world{
		oc: &orchestrationv1alpha1.OrchestrationContext{
			ObjectMeta: metav1.ObjectMeta{Name: "ctx", Namespace: "default", Generation: 1,
				Annotations: map[string]string{orchestrationv1alpha1.RequesterAnnotation: `{"username":"alice"}`}},
			Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: members},
		},
		objects: map[string]*unstructured.Unstructured{"data/db": gadget("db", "False"), "app/app": gadget("app", "")},
		denied:  map[string]bool{},
	}
}

func (w *world) reconciler(now *time.Time) *reconciler {
	return &reconciler{
		get:   func(string) (*orchestrationv1alpha1.OrchestrationContext, bool) { return w.oc, true },
		index: fakeIndex{"root:app": "app", "root:data": "data"},
		resolve: func(_ context.Context, id cluster.ID, gv schema.GroupVersion, kind string) (memberResource, bool, error) {
			if kind != "Gadget" {
				return memberResource{}, false, nil
			}
			gvr := gv.WithResource("gadgets")
			return memberResource{gvr: gvr, namespaced: true, source: sourceKey{gr: gvr.GroupResource()}}, true, nil
		},
		review: func(_ context.Context, id cluster.ID, sar *authorizationv1.SubjectAccessReview) (bool, error) {
			return sar.Spec.User == "alice" && !w.denied[string(id)+"/"+sar.Spec.ResourceAttributes.Verb], nil
		},
		getMember: func(_ context.Context, id cluster.ID, _ schema.GroupVersionResource, _, name string) (*unstructured.Unstructured, error) {
			if obj, ok := w.objects[string(id)+"/"+name]; ok {
				return obj, nil
			}
			return nil, apierrors.NewNotFound(schema.GroupResource{}, name)
		},
		listMembers: func(_ context.Context, id cluster.ID, _ schema.GroupVersionResource, selector string, limit int) ([]unstructured.Unstructured, error) {
			sel, err := labels.Parse(selector)
			if err != nil {
				return nil, err
			}
			var out []unstructured.Unstructured
			for key, obj := range w.objects {
				if strings.HasPrefix(key, string(id)+"/") && sel.Matches(labels.Set(obj.GetLabels())) && len(out) <= limit {
					out = append(out, *obj)
				}
			}
			return out, nil
		},
		patchGate: func(_ context.Context, id cluster.ID, _ schema.GroupVersionResource, _, name, value string) error {
			w.gates = append(w.gates, string(id)+"/"+name+"="+value)
			w.objects[string(id)+"/"+name].SetAnnotations(map[string]string{orchestrationv1alpha1.DependenciesReadyAnnotation: value})
			return nil
		},
		deleteMember: func(_ context.Context, id cluster.ID, _ schema.GroupVersionResource, _, name string) error {
			w.deleted = append(w.deleted, string(id)+"/"+name)
			return nil
		},
		update: func(_ context.Context, _ cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error {
			w.oc = oc
			return nil
		},
		updateStatus: func(_ context.Context, _ cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error {
			w.writes++
			w.oc = oc
			return nil
		},
		recordEvent: func(_ context.Context, _ cluster.ID, e *corev1.Event) error {
			w.events = append(w.events, e.Reason+": "+e.Message)
			return nil
		},
		watch: func(_ string, want map[sourceKey]string) { w.watching = want },
		now:   func() time.Time { return *now },
	}
}

type fakeIndex map[string]cluster.ID

// Children finds the children of an account by path: root:a:b is a child of root:a.
func (x fakeIndex) Children(id cluster.ID) []cluster.ID {
	e, ok := x.Lookup(id)
	if !ok {
		return nil
	}
	var out []cluster.ID
	for p, i := range x {
		if rest, ok := strings.CutPrefix(p, e.Path+":"); ok && !strings.Contains(rest, ":") {
			out = append(out, i)
		}
	}
	return out
}

func (x fakeIndex) Resolve(p string) (cluster.ID, bool) { id, ok := x[p]; return id, ok }
func (x fakeIndex) Lookup(id cluster.ID) (cluster.Entry, bool) {
	for p, i := range x {
		if i == id {
			e := cluster.Entry{ID: id, Path: p}
			if k := strings.LastIndex(p, ":"); k > 0 {
				e.Parent = x[p[:k]]
			}
			return e, true
		}
	}
	return cluster.Entry{}, false
}

func (w *world) member(name string) orchestrationv1alpha1.MemberStatus {
	for _, s := range w.oc.Status.Members {
		if s.Name == name {
			return s
		}
	}
	return orchestrationv1alpha1.MemberStatus{}
}

func (w *world) condition(t string) string {
	c := meta.FindStatusCondition(w.oc.Status.Conditions, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + " " + c.Message
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld()
	r := w.reconciler(&now)
	key := client.ToClusterKey("app", "default", "ctx")
	step := func() {
		t.Helper()
		_, err := r.reconcile(t.Context(), key)
		require.NoError(t, err)
	}

	// Nothing ready: progressing, app waits for db; the member's spec is not copied.
	step()
	require.Equal(t, 1, w.writes)
	require.Equal(t, "0/2 ready", w.oc.Status.Summary)
	require.Equal(t, "True waiting for: db, app", w.condition(orchestrationv1alpha1.ConditionProgressing))
	require.Equal(t, "False not ready: db, app", w.condition(orchestrationv1alpha1.ConditionReady))
	require.Equal(t, []string{"db"}, w.member("app").WaitingFor)
	require.Equal(t, orchestrationv1alpha1.MemberStatus{Name: "db", Account: "root:data", Reason: "NotReady", Message: "db False",
		ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(now)}, w.member("db"))
	require.Equal(t, map[sourceKey]string{{gr: schema.GroupResource{Group: "example.com", Resource: "gadgets"}}: "v1"}, w.watching)

	// app depends on db: its gate is closed; db has no gate.
	require.Equal(t, []string{"app/app=false"}, w.gates)

	// Nothing changed: no write.
	step()
	require.Equal(t, 1, w.writes)
	require.Len(t, w.gates, 1)

	// Both ready.
	now = now.Add(time.Minute)
	w.objects["data/db"], w.objects["app/app"] = gadget("db", "True"), gadget("app", "True")
	w.objects["app/app"].SetAnnotations(map[string]string{orchestrationv1alpha1.DependenciesReadyAnnotation: "false"})
	step()
	require.Equal(t, []string{"app/app=false", "app/app=true"}, w.gates)
	require.Equal(t, "2/2 ready", w.oc.Status.Summary)
	require.Equal(t, "True all 2 members are ready", w.condition(orchestrationv1alpha1.ConditionReady))
	require.Equal(t, "False no member lost its readiness", w.condition(orchestrationv1alpha1.ConditionDegraded))
	require.Empty(t, w.member("app").WaitingFor)
	require.Equal(t, []string{`MemberReady: member "db": NotReady -> Ready`, `MemberReady: member "app": NotReady -> Ready`}, w.events)

	// db breaks: degraded, naming it; app waits for it again.
	now = now.Add(time.Minute)
	w.objects["data/db"] = gadget("db", "False")
	step()
	require.Equal(t, "True no longer ready: db", w.condition(orchestrationv1alpha1.ConditionDegraded))
	require.Equal(t, "False no member is waiting to become ready", w.condition(orchestrationv1alpha1.ConditionProgressing))
	require.Equal(t, []string{"db"}, w.member("app").WaitingFor)
	require.Equal(t, metav1.NewTime(now), w.member("db").LastTransitionTime)
	require.Equal(t, "app/app=false", w.gates[len(w.gates)-1])

	// A requester who may read but not patch a member gets no gate published on it.
	w.gates = nil
	w.denied["app/patch"] = true
	w.objects["data/db"] = gadget("db", "True")
	step()
	require.Empty(t, w.gates)
	delete(w.denied, "app/patch")

	// Access revoked: Unauthorized, without the member's message; deleted: NotFound.
	w.denied["data/watch"] = true
	delete(w.objects, "app/app")
	step()
	require.Equal(t, "Unauthorized", w.member("db").Reason)
	require.NotContains(t, w.member("db").Message, "db False")
	require.Zero(t, w.member("db").ObservedGeneration)
	require.Equal(t, "NotFound", w.member("app").Reason)
	require.Equal(t, "True no longer ready: db, app", w.condition(orchestrationv1alpha1.ConditionDegraded))

	// A forged-looking context without a requester reads nothing.
	w.oc.Annotations = nil
	w.denied = map[string]bool{}
	w.objects["app/app"] = gadget("app", "True")
	step()
	require.Equal(t, "Unauthorized", w.member("app").Reason)
}

func TestFinalize(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := client.ToClusterKey("app", "default", "ctx")
	deleted := func(w *world, policy orchestrationv1alpha1.DeletionPolicy) {
		w.oc.Spec.DeletionPolicy = policy
		w.oc.DeletionTimestamp = &metav1.Time{Time: now}
		w.oc.Finalizers = []string{orchestrationv1alpha1.Finalizer}
	}

	// Delete: app, which depends on db, goes first; db once app is gone; then the finalizer.
	w := newWorld()
	deleted(w, orchestrationv1alpha1.DeletionPolicyDelete)
	r := w.reconciler(&now)
	_, err := r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, []string{"app/app"}, w.deleted)
	require.Equal(t, "True deleting: app; waiting for their dependents: db (for app)", w.condition(orchestrationv1alpha1.ConditionDeleting))
	delete(w.objects, "app/app")
	_, err = r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, []string{"app/app", "data/db"}, w.deleted)
	require.Equal(t, "True deleting: db", w.condition(orchestrationv1alpha1.ConditionDeleting))
	require.Contains(t, w.oc.Finalizers, orchestrationv1alpha1.Finalizer)
	delete(w.objects, "data/db")
	_, err = r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Empty(t, w.oc.Finalizers)

	// A member the requester may no longer delete is left, and does not hold back the others.
	w = newWorld()
	deleted(w, orchestrationv1alpha1.DeletionPolicyDelete)
	w.denied["app/delete"] = true
	r = w.reconciler(&now)
	_, err = r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, []string{"data/db"}, w.deleted)

	// Orphan: nothing is deleted; the gate is withdrawn and the finalizer removed.
	w = newWorld()
	deleted(w, orchestrationv1alpha1.DeletionPolicyOrphan)
	w.objects["app/app"].SetAnnotations(map[string]string{orchestrationv1alpha1.DependenciesReadyAnnotation: "false"})
	r = w.reconciler(&now)
	_, err = r.reconcile(t.Context(), key)
	require.NoError(t, err)
	require.Empty(t, w.deleted)
	require.Equal(t, []string{"app/app="}, w.gates)
	require.Empty(t, w.oc.Finalizers)
}

// labelled is a gadget with labels, in namespace default.
func labelled(name, ready string, lbls map[string]string) *unstructured.Unstructured {
	obj := gadget(name, ready)
	obj.SetNamespace("default")
	obj.SetLabels(lbls)
	return obj
}

// TestReconcileSelector reports a selector member over a subtree: each match in the status,
// the member ready when all are, NotFound when none, Unauthorized when the requester may not
// list in one of its accounts, capped beyond the accounts cap; a member depending on it waits
// for every match, and each match gets the selector's dependency gate.
func TestReconcileSelector(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld()
	w.oc.Spec.Members = []orchestrationv1alpha1.Member{
		{Name: "dbs", DependsOn: []string{"cfg"}, Selector: &orchestrationv1alpha1.MemberSelector{Account: "root:data", APIVersion: "example.com/v1", Kind: "Gadget",
			Subtree: true, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "db"}}}},
		{Name: "cfg", Ref: &orchestrationv1alpha1.MemberReference{APIVersion: "example.com/v1", Kind: "Gadget", Namespace: "default", Name: "cfg"}},
		{Name: "app", DependsOn: []string{"dbs"}, Ref: &orchestrationv1alpha1.MemberReference{APIVersion: "example.com/v1", Kind: "Gadget", Namespace: "default", Name: "app"}},
	}
	db := map[string]string{"tier": "db"}
	w.objects = map[string]*unstructured.Unstructured{
		"app/app": gadget("app", "True"), "app/cfg": gadget("cfg", "True"),
		"data/one": labelled("one", "True", db), "data/web": labelled("web", "True", map[string]string{"tier": "web"}),
		"team/two":  labelled("two", "False", db),
		"app/other": labelled("other", "False", db), // db-labelled, but outside the subtree
	}
	r := w.reconciler(&now)
	r.index = fakeIndex{"root:app": "app", "root:data": "data", "root:data:team": "team"}
	key := client.ToClusterKey("app", "default", "ctx")
	step := func() {
		t.Helper()
		_, err := r.reconcile(t.Context(), key)
		require.NoError(t, err)
	}
	names := func() []string {
		var out []string
		for _, s := range w.oc.Status.Members {
			out = append(out, s.Name)
		}
		return out
	}

	// Two matches in two accounts of the subtree, one not ready: the selector is not, and app
	// waits for it; the summary counts members, not matches.
	step()
	require.Equal(t, []string{"dbs", "dbs/root:data/default/one", "dbs/root:data:team/default/two", "cfg", "app"}, names())
	require.Equal(t, "NotReady", w.member("dbs").Reason)
	require.Equal(t, "1/2 matches ready; not ready: root:data:team/default/two", w.member("dbs").Message)
	require.Equal(t, "root:data:team", w.member("dbs/root:data:team/default/two").Account)
	require.Equal(t, "two False", w.member("dbs/root:data:team/default/two").Message)
	require.Equal(t, []string{"dbs"}, w.member("app").WaitingFor)
	require.Equal(t, "2/3 ready", w.oc.Status.Summary)
	require.Equal(t, "False not ready: dbs", w.condition(orchestrationv1alpha1.ConditionReady))
	// Every match of the selector, which depends on cfg (ready), gets its gate.
	require.ElementsMatch(t, []string{"data/one=true", "team/two=true", "app/app=false"}, w.gates)

	// All matches ready: ready, and app may go.
	w.objects["team/two"] = labelled("two", "True", db)
	step()
	require.Equal(t, "2/2 matches ready", w.member("dbs").Message)
	require.Equal(t, "3/3 ready", w.oc.Status.Summary)
	require.Equal(t, "app/app=true", w.gates[len(w.gates)-1])

	// A match loses its label: it drops out. None left: NotFound, degraded.
	w.objects["team/two"].SetLabels(nil)
	delete(w.objects, "data/one")
	step()
	require.Equal(t, []string{"dbs", "cfg", "app"}, names())
	require.Equal(t, "NotFound", w.member("dbs").Reason)
	require.Equal(t, "True no longer ready: dbs", w.condition(orchestrationv1alpha1.ConditionDegraded))

	// The requester may no longer list in one account of the subtree: Unauthorized, no matches.
	w.objects["team/two"].SetLabels(db)
	w.denied["team/list"] = true
	step()
	require.Equal(t, []string{"dbs", "cfg", "app"}, names())
	require.Equal(t, "Unauthorized", w.member("dbs").Reason)
	delete(w.denied, "team/list")

	// More matches than the cap: capped, not ready, none listed.
	for i := range orchestrationv1alpha1.MaxSelectorMatches {
		w.objects[fmt.Sprintf("team/m%d", i)] = labelled(fmt.Sprintf("m%d", i), "True", db)
	}
	step()
	require.Equal(t, "SelectorCapped", w.member("dbs").Reason)
	require.Equal(t, "the selector matches more than 100 objects", w.member("dbs").Message)
	require.Equal(t, []string{"dbs", "cfg", "app"}, names())

	// Deleted with the Delete policy: app first; the matches once app is gone; cfg, on
	// which the selector depends, once every match is gone.
	for i := range orchestrationv1alpha1.MaxSelectorMatches {
		delete(w.objects, fmt.Sprintf("team/m%d", i))
	}
	w.objects["data/one"] = labelled("one", "True", db)
	w.oc.Spec.DeletionPolicy = orchestrationv1alpha1.DeletionPolicyDelete
	w.oc.DeletionTimestamp = &metav1.Time{Time: now}
	w.oc.Finalizers = []string{orchestrationv1alpha1.Finalizer}
	step()
	require.Equal(t, []string{"app/app"}, w.deleted)
	delete(w.objects, "app/app")
	step()
	require.ElementsMatch(t, []string{"app/app", "data/one", "team/two"}, w.deleted)
	require.Equal(t, "True deleting: dbs/root:data/default/one, dbs/root:data:team/default/two; waiting for their dependents: cfg (for dbs)",
		w.condition(orchestrationv1alpha1.ConditionDeleting))
	delete(w.objects, "data/one")
	delete(w.objects, "team/two")
	step()
	require.Equal(t, "app/cfg", w.deleted[len(w.deleted)-1])
}

// TestReconcileSelectorSpan caps a selector over a subtree of more accounts than the cap.
func TestReconcileSelectorSpan(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld()
	w.oc.Spec.Members = []orchestrationv1alpha1.Member{{Name: "all", Selector: &orchestrationv1alpha1.MemberSelector{APIVersion: "example.com/v1", Kind: "Gadget", Subtree: true}}}
	index := fakeIndex{"root:app": "app"}
	for i := range orchestrationv1alpha1.MaxSelectorAccounts {
		index[fmt.Sprintf("root:app:c%d", i)] = cluster.ID(fmt.Sprintf("c%d", i))
	}
	r := w.reconciler(&now)
	r.index = index
	_, err := r.reconcile(t.Context(), client.ToClusterKey("app", "default", "ctx"))
	require.NoError(t, err)
	require.Equal(t, "SelectorCapped", w.member("all").Reason)
	require.Equal(t, "the selector spans more than 100 accounts", w.member("all").Message)
}
