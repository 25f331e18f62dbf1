// Package rbacescalation prevents privilege escalation through RBAC objects, as upstream does:
// creating or updating a Role or ClusterRole that grants more than the caller holds in that
// account (and namespace) is refused unless the caller may `escalate` on it; creating or
// updating a binding whose role grants more than the caller holds is refused unless the caller
// may `bind` that role. A ClusterRoleBinding labelled to be inherited must be covered by what
// the caller holds through inherited bindings, so a grant that stops at one account cannot be
// turned into one over its descendants. Using an aggregationRule needs `escalate`. An Invite
// is a grant made later on its creator's behalf: creating one needs what writing that grant
// would (CheckGrant), and the invite's acceptance asks CheckGrant again of its inviter.
//
// It must not mutate objects; it reads rules from pkg/authorization's policy only.
package rbacescalation

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/component-helpers/auth/rbac/validation"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Policy is what the plugin needs of the authorization policy.
type Policy interface {
	RulesFor(u user.Info, id cluster.ID, namespace string, inheritedOnly bool) []rbacv1.PolicyRule
	ClusterRoleRules(id cluster.ID, name string) ([]rbacv1.PolicyRule, bool)
	RoleRules(id cluster.ID, namespace, name string) ([]rbacv1.PolicyRule, bool)
	// FlowsDown reports whether ClusterRole r's rules reach the accounts below id through
	// inherited bindings.
	FlowsDown(id cluster.ID, r *rbacv1.ClusterRole) bool
}

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	authz  authorizer.Authorizer
	policy Policy
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin; authz answers the escalate and bind checks.
func New(authz authorizer.Authorizer, policy Policy) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update), authz: authz, policy: policy}
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	if inv, ok := a.GetObject().(*iamv1alpha1.Invite); ok && a.GetOperation() == admission.Create {
		id, ok := cluster.FromContext(ctx)
		if !ok || id == cluster.Wildcard || a.GetUserInfo() == nil {
			return nil
		}
		if err := p.CheckGrant(ctx, a.GetUserInfo(), id, inv.Spec.Role, inv.Spec.Inherit); err != nil {
			return admission.NewForbidden(a, fmt.Errorf("an invite grants with its creator's rights: %w", err))
		}
		return nil
	}
	if a.GetResource().Group != rbacv1.GroupName {
		return nil
	}
	id, ok := cluster.FromContext(ctx)
	u := a.GetUserInfo()
	if !ok || id == cluster.Wildcard || u == nil {
		return nil
	}
	ns := a.GetNamespace()
	switch obj := a.GetObject().(type) {
	case *rbacv1.Role:
		return p.checkRole(ctx, a, u, id, ns, obj.Rules, false, false)
	case *rbacv1.ClusterRole:
		return p.checkRole(ctx, a, u, id, "", obj.Rules, obj.AggregationRule != nil, p.policy.FlowsDown(id, obj))
	case *rbacv1.RoleBinding:
		return forbidden(a, p.checkBinding(ctx, u, id, ns, obj.RoleRef, false))
	case *rbacv1.ClusterRoleBinding:
		return forbidden(a, p.checkBinding(ctx, u, id, "", obj.RoleRef, obj.Labels[corev1alpha1.InheritLabel] == "true"))
	}
	return nil
}

// CheckGrant reports why u may not grant ClusterRole role in account id (and below, with
// inherit) as `kubectl mesh grant` does, or nil: u must be allowed to create the grant's
// ClusterRoleBinding or to update it, and to bind the role without escalating (through
// inherited bindings for an inherited grant).
func (p *Plugin) CheckGrant(ctx context.Context, u user.Info, id cluster.ID, role string, inherit bool) error {
	name := iamv1alpha1.GrantBindingName(role, inherit)
	if !p.allowedIn(ctx, u, id, "create", "clusterrolebindings", "", "") && !p.allowedIn(ctx, u, id, "update", "clusterrolebindings", "", name) {
		return fmt.Errorf("user %q (groups=%q) may neither create ClusterRoleBindings nor update %q here", u.GetName(), u.GetGroups(), name)
	}
	return p.checkBinding(cluster.WithCluster(ctx, id), u, id, "", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, inherit)
}

func (p *Plugin) allowedIn(ctx context.Context, u user.Info, id cluster.ID, verb, resource, ns, name string) bool {
	return p.allowed(cluster.WithCluster(ctx, id), u, verb, resource, ns, name)
}

// forbidden returns err as the admission error of a, or nil.
func forbidden(a admission.Attributes, err error) error {
	if err == nil {
		return nil
	}
	return admission.NewForbidden(a, err)
}

func (p *Plugin) allowed(ctx context.Context, u user.Info, verb, resource, ns, name string) bool {
	d, _, err := p.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, APIGroup: rbacv1.GroupName, APIVersion: "v1", Resource: resource,
		Namespace: ns, Name: name, ResourceRequest: true,
	})
	return err == nil && d == authorizer.DecisionAllow
}

// heldInherited reports whether u holds verb on an RBAC resource through inherited bindings
// of account id: a permission that holds in every account below too.
func (p *Plugin) heldInherited(u user.Info, id cluster.ID, verb, resource, ns, name string) bool {
	ok, _ := validation.Covers(p.policy.RulesFor(u, id, ns, true), []rbacv1.PolicyRule{{
		Verbs: []string{verb}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{resource}, ResourceNames: []string{name},
	}})
	return ok
}

// checkRole refuses a role granting more than u holds, unless u may escalate. A ClusterRole
// whose rules flow down through inherited bindings must be covered by, and the escalate
// permission held through, u's inherited bindings: a local grant must not widen what others
// hold below the account.
func (p *Plugin) checkRole(ctx context.Context, a admission.Attributes, u user.Info, id cluster.ID, ns string, rules []rbacv1.PolicyRule, aggregates, flowsDown bool) error {
	resource := a.GetResource().Resource
	if p.allowed(ctx, u, "escalate", resource, ns, a.GetName()) && (!flowsDown || p.heldInherited(u, id, "escalate", resource, ns, a.GetName())) {
		return nil
	}
	if aggregates {
		return admission.NewForbidden(a, fmt.Errorf("user %q (groups=%q) must have escalate permission to set an aggregationRule", u.GetName(), u.GetGroups()))
	}
	return p.covered(a, u, p.policy.RulesFor(u, id, ns, flowsDown), rules, flowsDown)
}

// checkBinding reports why u may not bind ref in account id (and namespace ns), or nil.
func (p *Plugin) checkBinding(ctx context.Context, u user.Info, id cluster.ID, ns string, ref rbacv1.RoleRef, inherit bool) error {
	resource, roleNS := "clusterroles", ""
	if ref.Kind == "Role" {
		resource, roleNS = "roles", ns
	}
	// An inherited binding needs bind through inherited bindings: a grant that stops at
	// this account must not make one that applies below it.
	if p.allowed(ctx, u, "bind", resource, roleNS, ref.Name) && (!inherit || p.heldInherited(u, id, "bind", resource, roleNS, ref.Name)) {
		return nil
	}
	var rules []rbacv1.PolicyRule
	var found bool
	if ref.Kind == "Role" {
		rules, found = p.policy.RoleRules(id, ns, ref.Name)
	} else {
		rules, found = p.policy.ClusterRoleRules(id, ref.Name)
	}
	if !found {
		return fmt.Errorf("user %q (groups=%q) cannot bind %s %q: it does not exist, and binding it needs the bind permission",
			u.GetName(), u.GetGroups(), ref.Kind, ref.Name)
	}
	return coveredErr(u, p.policy.RulesFor(u, id, ns, inherit), rules, inherit)
}

// covered refuses when owner rules do not cover servant rules, listing what is missing.
func (p *Plugin) covered(a admission.Attributes, u user.Info, owner, servant []rbacv1.PolicyRule, inherit bool) error {
	return forbidden(a, coveredErr(u, owner, servant, inherit))
}

// coveredErr says what of servant rules owner rules do not cover, or nil.
func coveredErr(u user.Info, owner, servant []rbacv1.PolicyRule, inherit bool) error {
	ok, missing := validation.Covers(owner, servant)
	if ok {
		return nil
	}
	lines := make([]string, 0, len(missing))
	for _, r := range missing {
		lines = append(lines, ruleString(r))
	}
	held := "currently held"
	if inherit {
		held = "currently held through inherited bindings (required for an inherited binding)"
	}
	return fmt.Errorf("user %q (groups=%q) is attempting to grant RBAC permissions not %s:\n%s",
		u.GetName(), u.GetGroups(), held, strings.Join(lines, "\n"))
}

// ruleString prints a rule compactly, as upstream's escalation messages do.
func ruleString(r rbacv1.PolicyRule) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", name, v))
		}
	}
	add("APIGroups", r.APIGroups)
	add("Resources", r.Resources)
	add("ResourceNames", r.ResourceNames)
	add("NonResourceURLs", r.NonResourceURLs)
	add("Verbs", r.Verbs)
	return "{" + strings.Join(parts, ", ") + "}"
}
