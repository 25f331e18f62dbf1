// Package authorization decides what authenticated callers may do, with Kubernetes RBAC inside
// every account and inheritance down the account tree. It owns the evaluator, the in-memory
// policy it reads (fed by wildcard informers over the four RBAC resources), the built-in roles,
// and the rule listing behind SelfSubjectRulesReview and escalation checks.
//
// The rules:
//   - system:masters may do everything, and only they may use the wildcard /clusters/* outside
//     a provider view.
//   - Inside an account, a request is allowed when a rule of a role bound to the caller (as
//     user, group or ServiceAccount) allows it, with upstream RBAC semantics: verbs, API groups,
//     resources and subresources ("*", "*/sub"), resourceNames, non-resource URLs (exact or
//     with a trailing "*"), RoleBindings only in their namespace.
//   - The bindings that apply in an account are its own, plus every ClusterRoleBinding labelled
//     accountmesh.io/inherit=true in an ancestor. A binding's role is always resolved in the
//     account where the binding lives. ServiceAccount subjects of inherited bindings apply in
//     the binding's account only: ServiceAccount names repeat in every account.
//   - ClusterRoles admin, edit and view are built in: defined in code, the same in every account,
//     not stored, and extended by aggregation: ClusterRoles of the account labelled
//     rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}=true add their rules (admin
//     includes edit, edit includes view, as upstream). A stored ClusterRole with an
//     aggregationRule gets, when evaluated, the rules of the account's ClusterRoles matching its
//     selectors. Stored ClusterRoles cannot take the built-in names. system:auth-delegator is
//     built in too, as upstream defines it (TokenReviews and SubjectAccessReviews in the
//     account), without aggregation; admin holds its rules, so that it may grant it.
//   - Access to an account requires a grant in it or inherited into it. Callers with one
//     (any binding that applies to them there) also get discovery, version and OpenAPI reads,
//     and may create SelfSubjectAccessReviews, SelfSubjectRulesReviews and SelfSubjectReviews.
//     Callers without one get the same empty denial whether or not the account exists.
//   - Account types: `use` on accounttypes/<name> is checked in the account where the type is
//     defined. Every authenticated user may use the types defined in root (whoever reaches that
//     check already holds `create accounts` in the parent); elsewhere it needs a grant, which
//     admin includes.
//   - Provider views (pkg/view): a request through the view of an APIExport needs its verb on
//     apiexports/content of that export in the provider account (get for discovery and
//     version; OpenAPI is not served), and its resource must be exported by the export
//     (status and scale included), apibindings (get, list, watch), a managed service's related
//     resource in a tenant space of the export's bindings (at /clusters/* reads only; storage
//     keeps what lies outside tenant spaces out), or a built-in resource the export claims with
//     that verb, applied in the account's binding (at /clusters/* the claim only has to exist;
//     storage filters the accounts). The consumer account's RBAC is not
//     consulted. Denials carry no reason.
//   - Every authenticated user may list and get accessibleaccounts in root, make a
//     SelfSubjectReview there, and read root's discovery and OpenAPI, so that
//     `kubectl get accessibleaccounts` and `kubectl auth whoami` work there: the list shows only
//     the accounts the caller can access and the review only the caller, so they reveal
//     nothing else.
//
// It must not call the API on the request path: decisions read only the in-memory policy and
// the account index.
package authorization
