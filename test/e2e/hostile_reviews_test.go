package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// tokenReviewBody is the JSON of a TokenReview of token for audiences.
func tokenReviewBody(t *testing.T, token string, audiences ...string) string {
	t.Helper()
	b, err := json.Marshal(authenticationv1.TokenReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview"},
		Spec:     authenticationv1.TokenReviewSpec{Token: token, Audiences: audiences},
	})
	require.NoError(t, err)
	return string(b)
}

// accessReviewBody is the JSON of a (Local)SubjectAccessReview of kind with spec.
func accessReviewBody(t *testing.T, kind string, spec authorizationv1.SubjectAccessReviewSpec) string {
	t.Helper()
	b, err := json.Marshal(authorizationv1.SubjectAccessReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: kind},
		Spec:     spec,
	})
	require.NoError(t, err)
	return string(b)
}

// tokenReviewStatus decodes the status of a TokenReview answer.
func tokenReviewStatus(t *testing.T, body string) authenticationv1.TokenReviewStatus {
	t.Helper()
	var review authenticationv1.TokenReview
	require.NoError(t, json.Unmarshal([]byte(body), &review), body)
	return review.Status
}

// accessReviewAllowed returns a check that an access review answered allowed as want.
func accessReviewAllowed(want bool) func(t *testing.T, body string) {
	return func(t *testing.T, body string) {
		t.Helper()
		var review authorizationv1.SubjectAccessReview
		require.NoError(t, json.Unmarshal([]byte(body), &review), body)
		require.Equal(t, want, review.Status.Allowed, body)
	}
}

// TestHostileReviews attacks TokenReview and (Local)SubjectAccessReview, which add-ons use for
// delegated authentication and authorization: tokens of other accounts must read like unknown
// ones, reviews answer about their own account only, and nothing in a review's spec (reserved
// groups, the reserved extra, system:masters) makes the answer more generous than the subject's
// own requests get.
func TestHostileReviews(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, framework.RandomName("owner-"))
	a := server.CreateAccount(t, org.Path, "a")
	b := server.CreateAccount(t, org.Path, "b")
	mia, vic, nina, rob, bea := framework.RandomName("mia-"), framework.RandomName("vic-"), framework.RandomName("nina-"), framework.RandomName("rob-"), framework.RandomName("bea-")

	// In a: the add-on and mia may review; robot edits; vic views; nina administers the default
	// namespace; rob manages RBAC without holding the reviews; a reserved group edits (as the
	// grants of a provider's bind check name them).
	addon := serviceAccountToken(t, a, "addon")
	grantRole(t, a, "system:auth-delegator", "--serviceaccount=default:addon", false)
	grantRole(t, a, "system:auth-delegator", "--user="+mia, false)
	robotA := serviceAccountToken(t, a, "robot")
	grantRole(t, a, "edit", "--serviceaccount=default:robot", false)
	grantRole(t, a, "view", "--user="+vic, false)
	framework.Kubectl(t, a.Kubeconfig, "create", "rolebinding", "nina", "-n", "default", "--clusterrole=admin", "--user="+nina)
	kubectlApply(t, a.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: rbac-manager}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}
`)
	grantRole(t, a, "rbac-manager", "--user="+rob, false)
	grantRole(t, a, "edit", "--group=accountmesh:subtree:"+org.Path, false)
	// In b: a ServiceAccount of the same name and bea administer; a deleted ServiceAccount's
	// token survives.
	robotB := serviceAccountToken(t, b, "robot")
	grantRole(t, b, "admin", "--serviceaccount=default:robot", false)
	grantRole(t, b, "admin", "--user="+bea, false)
	gone := serviceAccountToken(t, b, "gone")
	require.NoError(t, b.Kube.CoreV1().ServiceAccounts("default").Delete(ctx, "gone", metav1.DeleteOptions{}))
	robotBAccount, err := b.Kube.CoreV1().ServiceAccounts("default").Get(ctx, "robot", metav1.GetOptions{})
	require.NoError(t, err)

	in := func(acc *framework.Account) string { return "/clusters/" + acc.Path }
	const (
		trs   = "/apis/authentication.k8s.io/v1/tokenreviews"
		sars  = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
		lsars = "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews"
	)
	ad := tokenActor(t, "addon", addon)
	m := certActor(t, mia)
	v := certActor(t, vic)
	n := certActor(t, nina)
	r := certActor(t, rob)
	eventuallyAllowed(t, ad, in(a)+"/apis")
	eventuallyAllowed(t, m, in(a)+"/apis")
	eventuallyAllowed(t, v, in(a)+"/api/v1/namespaces/default/configmaps")
	eventuallyAllowed(t, n, in(a)+"/api/v1/namespaces/default/configmaps")
	eventuallyAllowed(t, r, in(a)+"/apis")
	eventuallyAllowed(t, tokenActor(t, "robot", robotA), in(a)+"/api/v1/namespaces/default/configmaps")

	// What an unknown token reads like, and the review of a's own robot, for comparison.
	code, body := ad.do(t, http.MethodPost, in(a)+trs, nil, tokenReviewBody(t, "not-a-token"))
	require.Equal(t, http.StatusCreated, code, body)
	unknown := tokenReviewStatus(t, body)
	require.False(t, unknown.Authenticated)
	require.NotEmpty(t, unknown.Error)
	readsLikeUnknown := func(t *testing.T, body string) {
		t.Helper()
		require.Equal(t, unknown, tokenReviewStatus(t, body))
	}
	notAuthenticated := func(t *testing.T, body string) {
		t.Helper()
		status := tokenReviewStatus(t, body)
		require.False(t, status.Authenticated, body)
		require.Equal(t, authenticationv1.UserInfo{}, status.User)
	}
	code, body = ad.do(t, http.MethodPost, in(a)+trs, nil, tokenReviewBody(t, robotA))
	require.Equal(t, http.StatusCreated, code, body)
	require.True(t, tokenReviewStatus(t, body).Authenticated, "sanity: a's own token: %s", body)

	createConfigMaps := &authorizationv1.ResourceAttributes{Verb: "create", Resource: "configmaps", Namespace: "default"}
	robotName := "system:serviceaccount:default:robot"
	confined := func(id string) map[string]authorizationv1.ExtraValue {
		return map[string]authorizationv1.ExtraValue{"accountmesh.io/account": {id}}
	}
	sar := func(spec authorizationv1.SubjectAccessReviewSpec) string {
		return accessReviewBody(t, "SubjectAccessReview", spec)
	}
	absent := "/clusters/" + org.Path + ":no-such-account"

	hostileTable(t, []attack{
		// R12, R2: a sibling's ServiceAccount token (admin there, namesake of one here) reads
		// like an unknown token, and so does one whose ServiceAccount was deleted.
		{name: "TokenReview of a sibling's ServiceAccount token", as: ad, method: http.MethodPost, path: in(a) + trs, body: tokenReviewBody(t, robotB), want: 201,
			check: readsLikeUnknown, absent: in(a) + trs, presentName: robotB, absentName: gone},
		// R12: asking for the audiences the sibling's token has changes nothing.
		{name: "TokenReview of a sibling's token for its audiences", as: ad, method: http.MethodPost, path: in(a) + trs, body: tokenReviewBody(t, robotB, tokenAudiences(t, robotB)...), want: 201, check: readsLikeUnknown},
		// R12, R4: the sibling's token with its account rewritten to this one.
		{name: "TokenReview of a token forged into this account", as: ad, method: http.MethodPost, path: in(a) + trs, body: tokenReviewBody(t, forgeToken(t, robotB, b.ClusterID, a.ClusterID)), want: 201, check: notAuthenticated},
		// R12, R4, R9: the add-on's token does not work in the sibling or at root, and nothing is written across accounts.
		{name: "TokenReview by the add-on in the sibling", as: ad, method: http.MethodPost, path: in(b) + trs, body: tokenReviewBody(t, robotB), want: 401},
		{name: "TokenReview by the add-on at root", as: ad, method: http.MethodPost, path: "/clusters/root" + trs, body: tokenReviewBody(t, robotA), want: 401},
		{name: "TokenReview by the add-on across accounts", as: ad, method: http.MethodPost, path: "/clusters/*" + trs, body: tokenReviewBody(t, robotA), want: 405},
		// R12, R2: a grant in a is none in the sibling, which reads like an absent account.
		{name: "TokenReview in the sibling", as: m, method: http.MethodPost, path: in(b) + trs, body: tokenReviewBody(t, robotB), want: 403,
			absent: absent + trs, presentName: b.Path, absentName: org.Path + ":no-such-account"},
		{name: "SubjectAccessReview in the sibling", as: m, method: http.MethodPost, path: in(b) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: bea, ResourceAttributes: createConfigMaps}), want: 403,
			absent: absent + sars, presentName: b.Path, absentName: org.Path + ":no-such-account"},
		// R12, R9: nothing is written across accounts.
		{name: "SubjectAccessReview across accounts", as: m, method: http.MethodPost, path: "/clusters/*" + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: bea, ResourceAttributes: createConfigMaps}), want: 405},
		// R12: view, a namespace admin and edit (the robot) may not review tokens or others.
		{name: "TokenReview by a viewer", as: v, method: http.MethodPost, path: in(a) + trs, body: tokenReviewBody(t, robotA), want: 403},
		{name: "SubjectAccessReview by a viewer", as: v, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: robotName, ResourceAttributes: createConfigMaps}), want: 403},
		{name: "SubjectAccessReview by a namespace admin", as: n, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: robotName, ResourceAttributes: createConfigMaps}), want: 403},
		{name: "TokenReview by edit", as: tokenActor(t, "robot", robotA), method: http.MethodPost, path: in(a) + trs, body: tokenReviewBody(t, addon), want: 403},
		// R12: a namespace admin asks about its namespace only, as upstream.
		{name: "LocalSubjectAccessReview by a namespace admin", as: n, method: http.MethodPost, path: in(a) + lsars, body: accessReviewBody(t, "LocalSubjectAccessReview", authorizationv1.SubjectAccessReviewSpec{User: robotName, ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(true)},
		{name: "LocalSubjectAccessReview elsewhere by a namespace admin", as: n, method: http.MethodPost, path: in(a) + "/apis/authorization.k8s.io/v1/namespaces/ops/localsubjectaccessreviews",
			body: accessReviewBody(t, "LocalSubjectAccessReview", authorizationv1.SubjectAccessReviewSpec{User: robotName, ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "configmaps", Namespace: "ops"}}), want: 403},
		// R12: system:auth-delegator asks about the whole account, not about a namespace (upstream).
		{name: "LocalSubjectAccessReview by the auth-delegator", as: m, method: http.MethodPost, path: in(a) + lsars, body: accessReviewBody(t, "LocalSubjectAccessReview", authorizationv1.SubjectAccessReviewSpec{User: robotName, ResourceAttributes: createConfigMaps}), want: 403},
		// R12, R6: granting system:auth-delegator needs its rules.
		{name: "bind system:auth-delegator without its rules", as: r, method: http.MethodPost, path: in(a) + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"rob-reviews"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:auth-delegator"},"subjects":[{"kind":"User","name":"` + rob + `"}]}`, want: 403},
		// R12: the account's robot may create configmaps (the control) ...
		{name: "SubjectAccessReview about the account's robot", as: ad, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: robotName, ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(true)},
		// ... but not the sibling's robot: a subject confined elsewhere holds nothing here.
		{name: "SubjectAccessReview about the sibling's robot", as: ad, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: robotName, Extra: confined(b.ClusterID), ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(false)},
		{name: "SubjectAccessReview about a subject confined in another case", as: ad, method: http.MethodPost, path: in(a) + sars,
			body: sar(authorizationv1.SubjectAccessReviewSpec{User: robotName, Extra: map[string]authorizationv1.ExtraValue{"AccountMesh.io/Account": {b.ClusterID}}, ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(false)},
		// R12: the sibling's admins hold nothing here; a review here never reads the sibling's RBAC.
		{name: "SubjectAccessReview about the sibling's admin", as: ad, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: bea, ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(false)},
		// R12, R4: reserved groups, as the bind check adds them, confer nothing in a review.
		{name: "SubjectAccessReview with a reserved group", as: ad, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: "x", Groups: []string{"accountmesh:subtree:" + org.Path}, ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(false)},
		// R12: system:masters confined elsewhere is nothing here.
		{name: "SubjectAccessReview about system:masters confined elsewhere", as: ad, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{User: "x", Groups: []string{"system:masters"}, Extra: confined(b.ClusterID), ResourceAttributes: createConfigMaps}), want: 201, check: accessReviewAllowed(false)},
		// R10: reviews are not objects, and need a token or a subject.
		{name: "SubjectAccessReview with a name", as: ad, method: http.MethodPost, path: in(a) + sars,
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","metadata":{"name":"x"},"spec":{"user":"x","resourceAttributes":{"verb":"get","resource":"configmaps"}}}`, want: 422},
		{name: "SubjectAccessReview without a subject", as: ad, method: http.MethodPost, path: in(a) + sars, body: sar(authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: createConfigMaps}), want: 422},
		{name: "TokenReview without a token", as: ad, method: http.MethodPost, path: in(a) + trs, body: tokenReviewBody(t, ""), want: 400},
	}, []*framework.Account{org, a, b}, []string{b.ClusterID, string(robotBAccount.UID)})
}
