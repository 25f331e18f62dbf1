package authorization

import (
	"context"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// wildcardReason is the denial reason for the cross-account wildcard.
const wildcardReason = "requests across all accounts (/clusters/*) are reserved for " + user.SystemPrivilegedGroup

// Authorizer is the server's authorizer: RBAC over the policy of the request's account and its
// ancestors.
type Authorizer struct {
	policy *Policy
	// views decides requests through provider views; nil denies them all.
	views Views
}

var _ authorizer.Authorizer = &Authorizer{}

// NewAuthorizer returns the authorizer over policy, deciding requests through provider views
// with views (nil: provider views are denied).
func NewAuthorizer(policy *Policy, views Views) *Authorizer {
	return &Authorizer{policy: policy, views: views}
}

// Policy returns the policy the authorizer reads.
func (z *Authorizer) Policy() *Policy { return z.policy }

// IsPrivileged reports whether u is in system:masters.
func IsPrivileged(u user.Info) bool {
	return slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup)
}

// Authorize implements authorizer.Authorizer. Denials inside accounts carry no reason, so
// that they read the same whether or not the account exists.
func (z *Authorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionDeny, "unauthenticated", nil
	}
	v, isView := view.FromContext(ctx)
	id, ok := cluster.FromContext(ctx)
	if IsPrivileged(u) {
		// A confined identity is privileged in its account only; at a view, that is the
		// provider's account, where the view is authorised.
		at := id
		if isView {
			at = v.ProviderID
		}
		if confined, isConfined := authentication.ConfinedTo(u); !isConfined || ok && confined == at {
			return authorizer.DecisionAllow, "", nil
		}
	}
	if reservedImpersonation(a) {
		return authorizer.DecisionDeny, "", nil
	}
	if isView {
		return z.authorizeView(ctx, v, a)
	}
	switch {
	case !ok:
		if rulesAllow(a, publicRules) {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionDeny, "", nil
	case id == cluster.Wildcard:
		return authorizer.DecisionDeny, wildcardReason, nil
	}
	if reason, ok := z.policy.allows(u, id, a); ok {
		return authorizer.DecisionAllow, reason, nil
	}
	return authorizer.DecisionDeny, "", nil
}

// reservedImpersonation reports whether a asks to impersonate what only a privileged user may:
// the group system:masters, a group or user extra reserved to the server.
func reservedImpersonation(a authorizer.Attributes) bool {
	if !strings.HasPrefix(a.GetVerb(), "impersonate") || a.GetAPIGroup() != authenticationv1.GroupName && a.GetAPIGroup() != "" {
		return false
	}
	switch a.GetResource() {
	case "groups":
		return a.GetName() == user.SystemPrivilegedGroup || authentication.IsReservedGroup(a.GetName())
	case "userextras":
		return authentication.IsReservedExtra(a.GetSubresource())
	}
	return false
}

// ConditionsAwareAuthorize implements authorizer.Authorizer; decisions are never conditional.
func (z *Authorizer) ConditionsAwareAuthorize(ctx context.Context, a authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(z.Authorize(ctx, a))
}

// EvaluateConditions implements authorizer.Authorizer; there are no conditions to evaluate.
func (*Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// allows evaluates a in account id for u, who is not privileged.
func (p *Policy) allows(u user.Info, id cluster.ID, a authorizer.Attributes) (string, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	reason, allowed, reachable := p.allowsLocked(u, id, a)
	if !allowed {
		// Checked last: only denials pay for the walk up the tree.
		if shadow, ok := p.shadowAdminLocked(u, id); ok {
			if rulesAllow(a, p.accounts[shadow].clusterRoleRules(RoleAdmin)) {
				return "accountmesh: admin of a shadow account as a content holder of one of its exports", true
			}
			reachable = true
		}
	}
	switch {
	case allowed:
		return reason, true
	case reachable && rulesAllow(a, basicRules):
		return "", true
	case id == p.tree.Root() && rulesAllow(a, rootPublicRules):
		return "", true
	case isOrganizationUser(u, id) && rulesAllow(a, organizationRules):
		return "", true
	}
	return "", false
}

// isOrganizationUser reports whether u was authenticated by an identity provider of
// organisation id.
func isOrganizationUser(u user.Info, id cluster.ID) bool {
	org, ok := authentication.OrganizationOf(u)
	return ok && org == id
}

// allowsLocked evaluates a in account id for u with the bindings that apply to u there, and
// reports whether any applies. The caller holds the read lock.
func (p *Policy) allowsLocked(u user.Info, id cluster.ID, a authorizer.Attributes) (reason string, allowed, reachable bool) {
	ns := a.GetNamespace()
	p.visitLocked(u, id, "*", func(_ cluster.ID, acc *accountPolicy, b *binding) bool {
		reachable = true
		if b.namespace != "" && b.namespace != ns {
			return true
		}
		if rulesAllow(a, acc.roleRules(b)) {
			allowed, reason = true, b.reason
			return false
		}
		return true
	})
	return reason, allowed, reachable
}

// shadowAdminLocked returns the shadow account at or above account id in which u is admin by
// holding content rights on one of the exports it serves: the verb update on apiexports/content
// of that export in the provider account, the shadow account's parent, where u is evaluated
// as there (a ServiceAccount of the provider account holds its grants). The verb bind does not
// count: consumers hold it, and one consumer must never reach another's shadow account. The
// caller holds the read lock.
func (p *Policy) shadowAdminLocked(u user.Info, id cluster.ID) (cluster.ID, bool) {
	for depth := 0; depth < maxDepth; depth++ {
		e, ok := p.tree.Lookup(id)
		if !ok || e.Parent == "" {
			return "", false
		}
		if e.Shadow == nil {
			id = e.Parent
			continue
		}
		for _, export := range e.Shadow.Exports {
			if _, allowed, _ := p.allowsLocked(u, e.Parent, contentUpdate(export)); allowed {
				return e.ID, true
			}
		}
		return "", false
	}
	return "", false
}

// contentUpdate is the check of content rights on an export that makes its holder admin in
// the shadow accounts that serve it.
func contentUpdate(export string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{Verb: "update", APIGroup: apisv1alpha1.GroupName, APIVersion: apisv1alpha1.SchemeGroupVersion.Version,
		Resource: "apiexports", Subresource: "content", Name: export, ResourceRequest: true}
}

// RulesFor returns the rules u holds in account id and namespace ns (ClusterRoleBindings
// only when ns is empty), as the evaluator applies them. With inheritedOnly, only the rules of
// inherited bindings count: what u holds in every descendant too.
func (p *Policy) RulesFor(u user.Info, id cluster.ID, ns string, inheritedOnly bool) []rbacv1.PolicyRule {
	if IsPrivileged(u) {
		return []rbacv1.PolicyRule{
			{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
			{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
		}
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	var rules []rbacv1.PolicyRule
	reachable := false
	p.visitLocked(u, id, "*", func(_ cluster.ID, acc *accountPolicy, b *binding) bool {
		reachable = true
		if (b.namespace != "" && b.namespace != ns) || (inheritedOnly && !b.inherit) {
			return true
		}
		rules = append(rules, acc.roleRules(b)...)
		return true
	})
	if shadow, ok := p.shadowAdminLocked(u, id); ok {
		rules = append(rules, p.accounts[shadow].clusterRoleRules(RoleAdmin)...)
		reachable = true
	}
	if reachable && !inheritedOnly {
		rules = append(rules, basicRules...)
	}
	if id == p.tree.Root() && !inheritedOnly {
		rules = append(rules, rootPublicRules...)
	}
	if isOrganizationUser(u, id) && !inheritedOnly {
		rules = append(rules, organizationRules...)
	}
	return rules
}

// ClusterRoleRules returns the effective rules of ClusterRole name in account id, built-in and
// aggregated roles included, and false when there is no such role.
func (p *Policy) ClusterRoleRules(id cluster.ID, name string) ([]rbacv1.PolicyRule, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	a := p.accounts[id]
	if _, ok := builtinRoles[name]; !ok && (a == nil || a.clusterRoles[name] == nil) {
		return nil, false
	}
	return slices.Clone(a.clusterRoleRules(name)), true
}

// RoleRules returns the rules of Role namespace/name in account id, and false when there is no
// such role.
func (p *Policy) RoleRules(id cluster.ID, namespace, name string) ([]rbacv1.PolicyRule, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	a := p.accounts[id]
	if a == nil || a.roles[objectKey{namespace, name}] == nil {
		return nil, false
	}
	return slices.Clone(a.roles[objectKey{namespace, name}].Rules), true
}
