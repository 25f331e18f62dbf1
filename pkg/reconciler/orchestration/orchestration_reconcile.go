package orchestration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/orchestration"
)

// recheckPeriod is how often a context is looked at again without any event: so that access
// revoked since the last event shows, as nothing the controller watches changes then.
const recheckPeriod = 10 * time.Minute

// maxMessage is the longest member message the status repeats.
const maxMessage = 256

// unauthorizedMessage is the message of a member the requester may not read, whatever the
// reason: the member, its kind or its account may not exist, or access was revoked.
const unauthorizedMessage = "the context's requester may not get and watch this member"

// memberResource is how a member's account serves its kind.
type memberResource struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	// source is the watch that sees the member change.
	source sourceKey
}

type reconciler struct {
	get   func(key string) (*orchestrationv1alpha1.OrchestrationContext, bool)
	index Index
	// resolve finds the resource of a kind in an account; false when the account does not
	// serve it.
	resolve func(ctx context.Context, id cluster.ID, gv schema.GroupVersion, kind string) (memberResource, bool, error)
	// review answers a SubjectAccessReview in an account.
	review    func(ctx context.Context, id cluster.ID, sar *authorizationv1.SubjectAccessReview) (bool, error)
	getMember func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error)
	// listMembers lists the objects of a resource in an account, in all namespaces, that match
	// a label selector, at most limit+1 of them.
	listMembers func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, selector string, limit int) ([]unstructured.Unstructured, error)
	// patchGate sets a member's DependenciesReadyAnnotation to value, or removes it when
	// value is empty.
	patchGate func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name, value string) error
	// deleteMember deletes a member in the background.
	deleteMember func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, namespace, name string) error
	// update writes a context (its finalizers).
	update       func(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error
	updateStatus func(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext) error
	recordEvent  func(ctx context.Context, id cluster.ID, event *corev1.Event) error
	// watch sets the sources a context needs.
	watch func(contextKey string, want map[sourceKey]string)
	now   func() time.Time

	// programsMu guards programs, which caches compiled readiness expressions.
	programsMu sync.Mutex
	programs   map[string]*orchestration.Readiness
}

// maxPrograms bounds the cache of compiled readiness expressions; it is emptied when full.
const maxPrograms = 1024

// member is a member as the controller found it: a reference, a selector or an object that a
// selector matches.
type member struct {
	spec *orchestrationv1alpha1.Member
	// owner is the name of the member in spec.members: spec.Name, or the selector's name for
	// an object it matches.
	owner string
	// sel is the expansion of a selector member; nil for the others.
	sel *selection
	// listed is an object a selector matched, as it was listed: the requester's access to
	// its whole account was reviewed.
	listed *unstructured.Unstructured
	// id and path are the member's account; found is false when it does not exist.
	id    cluster.ID
	path  string
	found bool
	// res is the member's resource; served is false when the account does not serve its kind.
	res    memberResource
	served bool
	// read is true once the member was read for the requester, with its dependency gate
	// (gate, hasGate: the DependenciesReadyAnnotation).
	read    bool
	gate    string
	hasGate bool
}

// reconcile reports the state of a context's members: it resolves them, watches their
// resources, checks that the requester may still read each, reads it and writes the status
// once, when it changed, with an Event per member transition.
func (r *reconciler) reconcile(ctx context.Context, key string) (time.Duration, error) {
	id, _, _, err := client.SplitClusterKey(key)
	if err != nil {
		return 0, err
	}
	cached, ok := r.get(key)
	if !ok {
		r.watch(key, nil)
		return 0, nil
	}
	oc := cached.DeepCopy()
	requester, hasRequester := requesterOf(oc)
	members, err := r.resolveMembers(ctx, id, oc, requester, hasRequester)
	if err != nil {
		return 0, err
	}
	want := map[sourceKey]string{}
	for _, m := range members {
		if m.served {
			want[m.res.source] = m.res.gvr.Version
		}
		if m.sel != nil {
			for _, a := range m.sel.accounts {
				want[a.res.source] = a.res.gvr.Version
			}
		}
	}
	// Watch before reading, so that no change after the read is missed.
	r.watch(key, want)
	if members, err = r.expandSelectors(ctx, members); err != nil {
		return 0, err
	}
	if oc.DeletionTimestamp != nil {
		if !slices.Contains(oc.Finalizers, orchestrationv1alpha1.Finalizer) {
			return 0, nil
		}
		return r.finalize(ctx, id, oc, members, requester, hasRequester)
	}
	previous := map[string]orchestrationv1alpha1.MemberStatus{}
	for _, s := range oc.Status.Members {
		previous[s.Name] = s
	}
	now := metav1.NewTime(r.now())
	states := make([]orchestrationv1alpha1.MemberStatus, len(members))
	for i := range members {
		m := &members[i]
		states[i] = orchestrationv1alpha1.MemberStatus{Name: m.spec.Name, Account: m.path}
		if m.sel != nil {
			continue
		}
		if err := r.observe(ctx, m, requester, hasRequester, &states[i]); err != nil {
			return 0, err
		}
	}
	rollUpSelectors(members, states)
	ready := map[string]bool{}
	var top []orchestrationv1alpha1.MemberStatus
	for i := range states {
		s := &states[i]
		old, had := previous[s.Name]
		s.WasReady = s.Ready || (had && old.WasReady)
		s.LastTransitionTime = now
		if had && old.Ready == s.Ready && old.Reason == s.Reason {
			s.LastTransitionTime = old.LastTransitionTime
		}
		ready[s.Name] = s.Ready
	}
	for i, m := range members {
		states[i].WaitingFor = orchestration.WaitingFor(*m.spec, func(name string) bool { return ready[name] })
		if !m.matched() {
			top = append(top, states[i])
		}
	}
	if err := r.publishGates(ctx, members, states, requester); err != nil {
		return 0, err
	}
	status := summarize(oc, top, now)
	status.Members = states
	if apiequality.Semantic.DeepEqual(status, oc.Status) {
		return recheckPeriod, nil
	}
	oc.Status = status
	if err := r.updateStatus(ctx, id, oc); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			// Deleted, or changed since: the informer brings it back.
			return 0, nil
		}
		return 0, fmt.Errorf("failed to update the status of orchestration context %s: %w", key, err)
	}
	r.recordTransitions(ctx, id, oc, previous, states)
	return recheckPeriod, nil
}

// resolveMembers finds the account and resource of every member and, for a selector, the
// accounts it reaches where the requester may read its kind.
func (r *reconciler) resolveMembers(ctx context.Context, here cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext,
	requester authenticationv1.UserInfo, hasRequester bool) ([]member, error) {
	out := make([]member, 0, len(oc.Spec.Members))
	for i := range oc.Spec.Members {
		spec := &oc.Spec.Members[i]
		m := member{spec: spec, owner: spec.Name, id: here, found: true}
		if spec.Selector != nil {
			sel, err := r.resolveSelector(ctx, here, spec, requester, hasRequester)
			if err != nil {
				return nil, fmt.Errorf("failed to resolve member %q of %s/%s: %w", spec.Name, oc.Namespace, oc.Name, err)
			}
			out = append(out, sel)
			continue
		}
		if spec.Ref == nil {
			out = append(out, member{spec: spec, owner: spec.Name})
			continue
		}
		if spec.Ref.Account != "" {
			m.id, m.found = r.index.Resolve(spec.Ref.Account)
		}
		if e, ok := r.index.Lookup(m.id); m.found && ok {
			m.path = e.Path
		} else {
			m.found = false
			m.path = spec.Ref.Account
		}
		if m.found {
			gv, err := schema.ParseGroupVersion(spec.Ref.APIVersion)
			if err != nil {
				out = append(out, m)
				continue
			}
			res, served, err := r.resolve(ctx, m.id, gv, spec.Ref.Kind)
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("failed to resolve member %q of %s/%s: %w", spec.Name, oc.Namespace, oc.Name, err)
			}
			m.res, m.served = res, served && err == nil
		}
		out = append(out, m)
	}
	return out, nil
}

// observe fills in the state of one member: Unauthorized unless the requester may get and
// watch it now, then NotFound, or its readiness.
func (r *reconciler) observe(ctx context.Context, m *member, requester authenticationv1.UserInfo, hasRequester bool, s *orchestrationv1alpha1.MemberStatus) error {
	unauthorized := func() {
		s.Ready, s.Reason, s.Message = false, orchestrationv1alpha1.ReasonUnauthorized, unauthorizedMessage
	}
	if !hasRequester || !m.found || !m.served {
		unauthorized()
		return nil
	}
	obj := m.listed
	if obj == nil {
		allowed, err := r.may(ctx, m, requester, "get", "watch")
		if err != nil {
			return err
		}
		if !allowed {
			unauthorized()
			return nil
		}
		obj, err = r.getMember(ctx, m.id, m.res.gvr, m.namespace(), m.spec.Ref.Name)
		if apierrors.IsNotFound(err) {
			s.Ready, s.Reason, s.Message = false, orchestrationv1alpha1.ReasonNotFound, "the member does not exist"
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to get member %q: %w", m.spec.Name, err)
		}
	}
	s.ObservedGeneration = obj.GetGeneration()
	m.read = true
	m.gate, m.hasGate = obj.GetAnnotations()[orchestrationv1alpha1.DependenciesReadyAnnotation]
	readiness, err := r.readiness(m.spec.Readiness)
	if err != nil {
		s.Ready, s.Reason, s.Message = false, orchestrationv1alpha1.ReasonReadinessError, truncate(err.Error())
		return nil
	}
	ready, message, err := readiness.Evaluate(obj)
	switch {
	case err != nil:
		s.Ready, s.Reason, s.Message = false, orchestrationv1alpha1.ReasonReadinessError, truncate(err.Error())
	case ready:
		s.Ready, s.Reason, s.Message = true, orchestrationv1alpha1.ReasonReady, truncate(message)
	default:
		s.Ready, s.Reason, s.Message = false, orchestrationv1alpha1.ReasonNotReady, truncate(message)
	}
	return nil
}

// namespace returns the namespace of a resolved member: none for a cluster-scoped kind.
func (m *member) namespace() string {
	if m.res.namespaced {
		return m.spec.Ref.Namespace
	}
	return ""
}

// publishGates sets the dependency gate (DependenciesReadyAnnotation) of every member that has
// dependencies and was read, where it differs: "true" when it waits for none. A member the
// requester may not patch is left alone: the controller writes to members only what their
// requester could.
func (r *reconciler) publishGates(ctx context.Context, members []member, states []orchestrationv1alpha1.MemberStatus, requester authenticationv1.UserInfo) error {
	for i := range members {
		m := &members[i]
		if !m.read || len(m.spec.DependsOn) == 0 {
			continue
		}
		want := strconv.FormatBool(len(states[i].WaitingFor) == 0)
		if m.hasGate && m.gate == want {
			continue
		}
		if err := r.setGate(ctx, m, requester, want); err != nil {
			return err
		}
	}
	return nil
}

// setGate sets a member's dependency gate to value (removes it when empty), if the requester
// may patch the member.
func (r *reconciler) setGate(ctx context.Context, m *member, requester authenticationv1.UserInfo, value string) error {
	allowed, err := r.may(ctx, m, requester, "patch")
	if err != nil || !allowed {
		return err
	}
	if err := r.patchGate(ctx, m.id, m.res.gvr, m.namespace(), m.spec.Ref.Name, value); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to set the dependency gate of member %q: %w", m.spec.Name, err)
	}
	return nil
}

// may asks the member's account whether the requester may perform all verbs on the member.
func (r *reconciler) may(ctx context.Context, m *member, requester authenticationv1.UserInfo, verbs ...string) (bool, error) {
	return r.mayOn(ctx, m.id, &authorizationv1.ResourceAttributes{
		Namespace: m.namespace(), Group: m.res.gvr.Group, Version: m.res.gvr.Version, Resource: m.res.gvr.Resource, Name: m.spec.Ref.Name,
	}, m.spec.Name, requester, verbs...)
}

// mayOn asks account id whether the requester may perform all verbs on what attrs (without
// the verb) names; member names the member in errors.
func (r *reconciler) mayOn(ctx context.Context, id cluster.ID, attrs *authorizationv1.ResourceAttributes, member string,
	requester authenticationv1.UserInfo, verbs ...string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range requester.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	for _, verb := range verbs {
		ra := *attrs
		ra.Verb = verb
		allowed, err := r.review(ctx, id, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: requester.Username, UID: requester.UID, Groups: requester.Groups, Extra: extra, ResourceAttributes: &ra,
		}})
		if err != nil {
			return false, fmt.Errorf("failed to review access to member %q: %w", member, err)
		}
		if !allowed {
			return false, nil
		}
	}
	return true, nil
}

// readiness returns the compiled readiness expression, cached.
func (r *reconciler) readiness(expr string) (*orchestration.Readiness, error) {
	r.programsMu.Lock()
	defer r.programsMu.Unlock()
	if cached, ok := r.programs[expr]; ok {
		return cached, nil
	}
	compiled, err := orchestration.CompileReadiness(expr, true)
	if err != nil {
		return nil, err
	}
	if r.programs == nil || len(r.programs) >= maxPrograms {
		r.programs = map[string]*orchestration.Readiness{}
	}
	r.programs[expr] = compiled
	return compiled, nil
}

// summarize builds the status of a context from its members' states: the summary and the
// conditions Ready, Progressing and Degraded, which keep their transition times while their
// status does not change.
func summarize(oc *orchestrationv1alpha1.OrchestrationContext, states []orchestrationv1alpha1.MemberStatus, now metav1.Time) orchestrationv1alpha1.OrchestrationContextStatus {
	var notReady, progressing, degraded []string
	for _, s := range states {
		if s.Ready {
			continue
		}
		notReady = append(notReady, s.Name)
		if s.WasReady {
			degraded = append(degraded, s.Name)
		} else {
			progressing = append(progressing, s.Name)
		}
	}
	status := orchestrationv1alpha1.OrchestrationContextStatus{
		ObservedGeneration: oc.Generation,
		ReadyMembers:       int32(len(states) - len(notReady)),
		Summary:            fmt.Sprintf("%d/%d ready", len(states)-len(notReady), len(states)),
		Members:            states,
		Conditions:         append([]metav1.Condition(nil), oc.Status.Conditions...),
	}
	set := func(t string, ok bool, reason, message string) {
		c := metav1.Condition{Type: t, Status: metav1.ConditionFalse, Reason: reason, Message: message, ObservedGeneration: oc.Generation, LastTransitionTime: now}
		if ok {
			c.Status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&status.Conditions, c)
	}
	if len(notReady) == 0 {
		set(orchestrationv1alpha1.ConditionReady, true, orchestrationv1alpha1.ReasonReady, fmt.Sprintf("all %d members are ready", len(states)))
	} else {
		set(orchestrationv1alpha1.ConditionReady, false, orchestrationv1alpha1.ReasonMembersNotReady, "not ready: "+strings.Join(notReady, ", "))
	}
	if len(progressing) > 0 {
		set(orchestrationv1alpha1.ConditionProgressing, true, orchestrationv1alpha1.ReasonMembersNotReady, "waiting for: "+strings.Join(progressing, ", "))
	} else {
		set(orchestrationv1alpha1.ConditionProgressing, false, orchestrationv1alpha1.ReasonSettled, "no member is waiting to become ready")
	}
	if len(degraded) > 0 {
		set(orchestrationv1alpha1.ConditionDegraded, true, orchestrationv1alpha1.ReasonMembersDegraded, "no longer ready: "+strings.Join(degraded, ", "))
	} else {
		set(orchestrationv1alpha1.ConditionDegraded, false, orchestrationv1alpha1.ReasonNoneDegraded, "no member lost its readiness")
	}
	return status
}

// recordTransitions records an Event on the context for each member whose readiness or
// reason changed since the last status; failures are logged only.
func (r *reconciler) recordTransitions(ctx context.Context, id cluster.ID, oc *orchestrationv1alpha1.OrchestrationContext,
	previous map[string]orchestrationv1alpha1.MemberStatus, states []orchestrationv1alpha1.MemberStatus) {
	now := metav1.NewTime(r.now())
	for i, s := range states {
		old, had := previous[s.Name]
		if !had || (old.Ready == s.Ready && old.Reason == s.Reason) {
			continue
		}
		eventType := corev1.EventTypeNormal
		if !s.Ready && old.Ready {
			eventType = corev1.EventTypeWarning
		}
		event := &corev1.Event{
			// Named as upstream's event recorder names events: the object and a timestamp.
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", oc.Name, now.UnixNano()+int64(i)), Namespace: oc.Namespace},
			InvolvedObject: corev1.ObjectReference{
				APIVersion: orchestrationv1alpha1.SchemeGroupVersion.String(), Kind: "OrchestrationContext",
				Namespace: oc.Namespace, Name: oc.Name, UID: oc.UID,
			},
			Reason:              "Member" + s.Reason,
			Message:             fmt.Sprintf("member %q: %s -> %s", s.Name, old.Reason, s.Reason),
			Type:                eventType,
			Source:              corev1.EventSource{Component: controllerName},
			ReportingController: "accountmesh.io/" + controllerName,
			FirstTimestamp:      now,
			LastTimestamp:       now,
			Count:               1,
		}
		if err := r.recordEvent(ctx, id, event); err != nil {
			klog.FromContext(ctx).V(2).Info("Failed to record a member transition", "context", oc.Namespace+"/"+oc.Name, "member", s.Name, "err", err)
		}
	}
}

// requesterOf returns the user recorded in a context's requester annotation.
func requesterOf(oc *orchestrationv1alpha1.OrchestrationContext) (authenticationv1.UserInfo, bool) {
	var u authenticationv1.UserInfo
	raw, ok := oc.Annotations[orchestrationv1alpha1.RequesterAnnotation]
	if !ok || json.Unmarshal([]byte(raw), &u) != nil || u.Username == "" {
		return authenticationv1.UserInfo{}, false
	}
	return u, true
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return s[:maxMessage] + "..."
}
