// Package authorization decides what authenticated callers may do. Until per-account RBAC
// lands, every authenticated caller is allowed inside any account, and only the privileged
// group may use the cross-account wildcard /clusters/*.
//
// It must not call the API; decisions are made from the request alone.
package authorization

import (
	"context"
	"slices"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Authorizer is the server's authorizer.
type Authorizer struct{}

var _ authorizer.Authorizer = Authorizer{}

// Authorize implements authorizer.Authorizer.
func (Authorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetUser() == nil {
		return authorizer.DecisionDeny, "unauthenticated", nil
	}
	if id, ok := cluster.FromContext(ctx); ok && id == cluster.Wildcard &&
		!slices.Contains(a.GetUser().GetGroups(), user.SystemPrivilegedGroup) {
		return authorizer.DecisionDeny, "requests across all accounts (/clusters/*) are reserved for " + user.SystemPrivilegedGroup, nil
	}
	return authorizer.DecisionAllow, "", nil
}

// ConditionsAwareAuthorize implements authorizer.Authorizer; decisions are never conditional.
func (z Authorizer) ConditionsAwareAuthorize(ctx context.Context, a authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(z.Authorize(ctx, a))
}

// EvaluateConditions implements authorizer.Authorizer; there are no conditions to evaluate.
func (Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}
