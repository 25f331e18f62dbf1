package orchestration

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/orchestration"
)

// selectorVerbs are what the requester must hold on a selector's kind, in all namespaces, in
// every account it reaches, for the controller to list it there.
var selectorVerbs = []string{"get", "list", "watch"}

// selection is how far a selector member reaches: the accounts, where the requester may read
// its kind, that serve it. When reason is set, the selector is not expanded and the member
// shows reason and message.
type selection struct {
	accounts        []selectedAccount
	reason, message string
}

// selectedAccount is an account a selector reaches, with the resource of its kind there.
type selectedAccount struct {
	id   cluster.ID
	path string
	res  memberResource
}

// matched reports whether m is an object a selector member matched.
func (m *member) matched() bool { return m.owner != m.spec.Name }

// matchName names an object a selector member matched in the status:
// <member>/<account path>/<namespace>/<name>, without the namespace when it has none.
func matchName(member, path, namespace, name string) string {
	if namespace == "" {
		return strings.Join([]string{member, path, name}, "/")
	}
	return strings.Join([]string{member, path, namespace, name}, "/")
}

// resolveSelector finds the accounts a selector member reaches: its account and, with subtree,
// every account below it, at most MaxSelectorAccounts. The requester must be allowed to get,
// list and watch its kind, in all namespaces, in each that serves it (checked with a
// SubjectAccessReview there, on every reconcile); otherwise, or when its own account does not
// exist or does not serve the kind, the member is Unauthorized and nothing of it is read.
func (r *reconciler) resolveSelector(ctx context.Context, here cluster.ID, spec *orchestrationv1alpha1.Member,
	requester authenticationv1.UserInfo, hasRequester bool) (member, error) {
	sel := spec.Selector
	m := member{spec: spec, owner: spec.Name, id: here, path: sel.Account, sel: &selection{}}
	unauthorized := func() (member, error) {
		m.sel = &selection{reason: orchestrationv1alpha1.ReasonUnauthorized, message: unauthorizedMessage}
		return m, nil
	}
	gv, err := schema.ParseGroupVersion(sel.APIVersion)
	if !hasRequester || err != nil {
		return unauthorized()
	}
	if sel.Account != "" {
		var ok bool
		if m.id, ok = r.index.Resolve(sel.Account); !ok {
			return unauthorized()
		}
	}
	e, ok := r.index.Lookup(m.id)
	if !ok {
		return unauthorized()
	}
	m.path = e.Path
	accounts, spans := []cluster.ID{m.id}, true
	if sel.Subtree {
		if accounts, spans = orchestration.Subtree(r.index, m.id, orchestrationv1alpha1.MaxSelectorAccounts); !spans {
			accounts = []cluster.ID{m.id}
		}
	}
	for _, id := range accounts {
		res, served, err := r.resolve(ctx, id, gv, sel.Kind)
		if err != nil && !apierrors.IsNotFound(err) {
			return member{}, err
		}
		if !served || err != nil {
			if id == m.id {
				return unauthorized()
			}
			continue
		}
		allowed, err := r.mayOn(ctx, id, &authorizationv1.ResourceAttributes{Group: gv.Group, Version: gv.Version, Resource: res.gvr.Resource},
			spec.Name, requester, selectorVerbs...)
		if err != nil {
			return member{}, err
		}
		if !allowed {
			return unauthorized()
		}
		path := m.path
		if id != m.id {
			e, ok := r.index.Lookup(id)
			if !ok {
				continue
			}
			path = e.Path
		}
		m.sel.accounts = append(m.sel.accounts, selectedAccount{id: id, path: path, res: res})
	}
	if !spans {
		m.sel = &selection{reason: orchestrationv1alpha1.ReasonSelectorCapped,
			message: fmt.Sprintf("the selector spans more than %d accounts", orchestrationv1alpha1.MaxSelectorAccounts)}
	}
	return m, nil
}

// expandSelectors lists the objects each selector member matches and returns the members with
// each selector followed by its matches, sorted by name. Each match is a member of its own
// with the selector's dependencies and readiness expression. A selector matching more than
// MaxSelectorMatches objects is capped: not expanded, and not ready.
func (r *reconciler) expandSelectors(ctx context.Context, members []member) ([]member, error) {
	out := make([]member, 0, len(members))
	for _, m := range members {
		out = append(out, m)
		if m.sel == nil || m.sel.reason != "" {
			continue
		}
		matches, err := r.listMatches(ctx, &m)
		if err != nil {
			return nil, err
		}
		if len(matches) > orchestrationv1alpha1.MaxSelectorMatches {
			out[len(out)-1].sel = &selection{reason: orchestrationv1alpha1.ReasonSelectorCapped,
				message: fmt.Sprintf("the selector matches more than %d objects", orchestrationv1alpha1.MaxSelectorMatches)}
			continue
		}
		out = append(out, matches...)
	}
	return out, nil
}

// listMatches lists the objects a selector matches in the accounts it reaches, at most one
// more than MaxSelectorMatches.
func (r *reconciler) listMatches(ctx context.Context, m *member) ([]member, error) {
	sel := m.spec.Selector
	selector, err := metav1.LabelSelectorAsSelector(sel.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the label selector of member %q: %w", m.spec.Name, err)
	}
	var out []member
	for _, a := range m.sel.accounts {
		items, err := r.listMembers(ctx, a.id, a.res.gvr, selector.String(), orchestrationv1alpha1.MaxSelectorMatches-len(out))
		if err != nil {
			return nil, fmt.Errorf("failed to list the objects member %q selects: %w", m.spec.Name, err)
		}
		for i := range items {
			obj := &items[i]
			out = append(out, member{
				spec: &orchestrationv1alpha1.Member{
					Name: matchName(m.spec.Name, a.path, obj.GetNamespace(), obj.GetName()),
					Ref: &orchestrationv1alpha1.MemberReference{Account: a.path, APIVersion: sel.APIVersion, Kind: sel.Kind,
						Namespace: obj.GetNamespace(), Name: obj.GetName()},
					DependsOn: m.spec.DependsOn,
					Readiness: m.spec.Readiness,
				},
				owner: m.spec.Name, id: a.id, path: a.path, found: true, res: a.res, served: true, listed: obj,
			})
		}
		if len(out) > orchestrationv1alpha1.MaxSelectorMatches {
			return out, nil
		}
	}
	slices.SortFunc(out, func(a, b member) int { return strings.Compare(a.spec.Name, b.spec.Name) })
	return out, nil
}

// rollUpSelectors sets the state of every selector member from those of its matches, which
// follow it: ready when it matches something and every match is ready; NotFound when it
// matches nothing.
func rollUpSelectors(members []member, states []orchestrationv1alpha1.MemberStatus) {
	for i, m := range members {
		if m.sel == nil {
			continue
		}
		s := &states[i]
		if m.sel.reason != "" {
			s.Reason, s.Message = m.sel.reason, m.sel.message
			continue
		}
		var total, ready int
		var notReady []string
		for j := i + 1; j < len(members) && members[j].matched() && members[j].owner == m.spec.Name; j++ {
			total++
			if states[j].Ready {
				ready++
			} else {
				notReady = append(notReady, strings.TrimPrefix(states[j].Name, m.spec.Name+"/"))
			}
		}
		switch {
		case total == 0:
			s.Reason, s.Message = orchestrationv1alpha1.ReasonNotFound, "no object matches the selector"
		case ready == total:
			s.Ready, s.Reason, s.Message = true, orchestrationv1alpha1.ReasonReady, fmt.Sprintf("%d/%d matches ready", ready, total)
		default:
			s.Reason, s.Message = orchestrationv1alpha1.ReasonNotReady, truncate(fmt.Sprintf("%d/%d matches ready; not ready: %s", ready, total, strings.Join(notReady, ", ")))
		}
	}
}
