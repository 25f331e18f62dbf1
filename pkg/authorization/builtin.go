package authorization

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

// The built-in ClusterRoles.
const (
	RoleAdmin = "admin"
	RoleEdit  = "edit"
	RoleView  = "view"
	// RoleAuthDelegator is upstream's role for delegated authentication and authorization:
	// TokenReviews and SubjectAccessReviews, what add-ons that serve their own API ask.
	RoleAuthDelegator = "system:auth-delegator"
)

// aggregateLabelPrefix, followed by a built-in role's name, labels the ClusterRoles that add
// their rules to it.
const aggregateLabelPrefix = "rbac.authorization.k8s.io/aggregate-to-"

// IsBuiltinRole reports whether name is a built-in ClusterRole.
func IsBuiltinRole(name string) bool {
	_, ok := builtinRoles[name]
	return ok
}

// BuiltinRoles returns the names of the built-in ClusterRoles, sorted.
func BuiltinRoles() []string { return sortedKeys(builtinRoles) }

// AggregationLabel returns the label that adds a ClusterRole's rules to the built-in role name,
// and false when nothing aggregates into it.
func AggregationLabel(name string) (string, bool) {
	if len(builtinRoles[name].labels) == 0 {
		return "", false
	}
	return aggregateLabelPrefix + name, true
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "delete", "deletecollection", "patch", "update"}
	allVerbs   = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)

func rule(verbs []string, group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: []string{group}, Resources: resources}
}

// viewRules read what an account holds, secrets excepted, and the account model.
var viewRules = []rbacv1.PolicyRule{
	rule(readVerbs, "", "configmaps", "serviceaccounts", "events", "namespaces", "namespaces/status", "resourcequotas", "resourcequotas/status"),
	rule(readVerbs, eventsv1.GroupName, "events"),
	rule(readVerbs, coordinationv1.GroupName, "leases"),
	rule(readVerbs, corev1alpha1.GroupName, "accounts", "accounts/status", "accountinfos", "accounttypes"),
	rule(readVerbs, apisv1alpha1.GroupName, "apiresourceschemas", "apiexports", "apiexports/status", "apibindings", "apibindings/status",
		"serviceinstances", "serviceinstances/status"),
	// The admission policies and webhooks that apply, inherited ones included: who writes
	// should know.
	rule([]string{"get", "list"}, authorizationv1alpha1.GroupName, "effectivepolicies", "effectivewebhooks"),
	rule(readVerbs, orchestrationv1alpha1.GroupName, "orchestrationcontexts", "orchestrationcontexts/status"),
	// What the reader may bind here: computed with the reader's own rights, so it shows a
	// viewer nothing they could not learn by trying to bind.
	rule(readVerbs, marketplacev1alpha1.GroupName, "marketplaceentries"),
}

// editRules change an account's objects, RBAC excepted, as upstream edit, but without
// impersonating ServiceAccounts: ServiceAccount user names repeat across accounts, so
// impersonating one could pick up grants inherited from an ancestor for that name.
var editRules = []rbacv1.PolicyRule{
	rule(allVerbs, "", "configmaps", "secrets", "serviceaccounts", "events"),
	rule([]string{"create"}, "", "serviceaccounts/token"),
	rule(writeVerbs, eventsv1.GroupName, "events"),
	rule(allVerbs, coordinationv1.GroupName, "leases"),
	rule(allVerbs, apisv1alpha1.GroupName, "apibindings"),
	// The provider reports on the ServiceInstances the platform creates (and only it may).
	rule(allVerbs, apisv1alpha1.GroupName, "serviceinstances"),
	rule([]string{"update", "patch"}, apisv1alpha1.GroupName, "serviceinstances/status"),
	rule(allVerbs, orchestrationv1alpha1.GroupName, "orchestrationcontexts"),
}

// adminRules administer an account: namespaces, RBAC of the whole account, child accounts and
// account types; the account owner holds them.
var adminRules = []rbacv1.PolicyRule{
	rule(writeVerbs, "", "namespaces", "resourcequotas"),
	rule(allVerbs, rbacv1.GroupName, "roles", "rolebindings", "clusterroles", "clusterrolebindings"),
	rule(writeVerbs, corev1alpha1.GroupName, "accounts"),
	rule(append([]string{"use"}, writeVerbs...), corev1alpha1.GroupName, "accounttypes"),
	rule([]string{"get", "list"}, authorizationv1alpha1.GroupName, "accessgrants"),
	// Invites grant roles later, with their creator's rights (their status is the server's).
	rule(allVerbs, iamv1alpha1.GroupName, "invites"),
	// The account's admission policies (their status is the server's to write).
	rule(allVerbs, admissionregistrationv1.GroupName, "validatingadmissionpolicies", "validatingadmissionpolicybindings"),
	rule(readVerbs, admissionregistrationv1.GroupName, "validatingadmissionpolicies/status"),
	// The account's admission webhooks: they see every object they match, so they are the
	// admin's, not edit's.
	rule(allVerbs, admissionregistrationv1.GroupName, "validatingwebhookconfigurations", "mutatingwebhookconfigurations"),
	// Questions about others in the account, as upstream's cluster-admin may ask them (and its
	// admin, in a namespace): so that the account's admin may grant system:auth-delegator.
	rule([]string{"create"}, authenticationv1.GroupName, "tokenreviews"),
	rule([]string{"create"}, authorizationv1.GroupName, "subjectaccessreviews", "localsubjectaccessreviews"),
	// Publishing APIs, and who may bind them: bind lets an admin grant bind to others.
	rule(append([]string{"bind"}, allVerbs...), apisv1alpha1.GroupName, "apiexports", "apiresourceschemas"),
	rule(allVerbs, apisv1alpha1.GroupName, "apiexports/content"),
}

// authDelegatorRules are upstream's system:auth-delegator: TokenReviews and SubjectAccessReviews
// in the account.
var authDelegatorRules = []rbacv1.PolicyRule{
	rule([]string{"create"}, authenticationv1.GroupName, "tokenreviews"),
	rule([]string{"create"}, authorizationv1.GroupName, "subjectaccessreviews"),
}

// builtinRoles are the rules of the built-in ClusterRoles before aggregation, and the
// aggregation labels each one takes rules from.
var builtinRoles = map[string]struct {
	rules  []rbacv1.PolicyRule
	labels []string
}{
	RoleView:          {viewRules, []string{aggregateLabelPrefix + RoleView}},
	RoleEdit:          {concat(editRules, viewRules), []string{aggregateLabelPrefix + RoleEdit, aggregateLabelPrefix + RoleView}},
	RoleAdmin:         {concat(adminRules, editRules, viewRules), []string{aggregateLabelPrefix + RoleAdmin, aggregateLabelPrefix + RoleEdit, aggregateLabelPrefix + RoleView}},
	RoleAuthDelegator: {authDelegatorRules, nil},
}

// basicRules are what every caller with access to an account may do there: discovery, version
// and OpenAPI, and questions about themselves.
var basicRules = []rbacv1.PolicyRule{
	{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"}},
	rule([]string{"create"}, authorizationv1.GroupName, "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
	rule([]string{"create"}, authenticationv1.GroupName, "selfsubjectreviews"),
	rule([]string{"get", "list"}, authorizationv1alpha1.GroupName, "accessibleaccounts"),
}

// rootPublicRules are what every authenticated user may do in root, access or not: discover
// its API, so that kubectl works there, ask who they are (kubectl auth whoami, the console's
// header), list the accounts they can access, and use root's account types.
var rootPublicRules = []rbacv1.PolicyRule{
	basicRules[0],
	rule([]string{"create"}, authenticationv1.GroupName, "selfsubjectreviews"),
	rule([]string{"use"}, corev1alpha1.GroupName, "accounttypes"),
	rule([]string{"get", "list"}, authorizationv1alpha1.GroupName, "accessibleaccounts"),
}

// organizationRules are what the users of an organisation's identity provider may do in the
// organisation itself, access or not, as every user may in root: discover its API, ask who
// they are and list the accounts they can access in it (an invited user may hold a role only
// further down).
var organizationRules = []rbacv1.PolicyRule{
	basicRules[0],
	rule([]string{"create"}, authenticationv1.GroupName, "selfsubjectreviews"),
	rule([]string{"get", "list"}, authorizationv1alpha1.GroupName, "accessibleaccounts"),
}

// publicRules are what every authenticated user may do outside accounts.
var publicRules = []rbacv1.PolicyRule{
	{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*", "/version", "/version/", "/openapi/*"}},
}

func concat(lists ...[]rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
