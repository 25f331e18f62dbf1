package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// tokenReview asks, as kube, who token is, for audiences (the API's when none).
func tokenReview(t *testing.T, kube kubernetes.Interface, token string, audiences ...string) authenticationv1.TokenReviewStatus {
	t.Helper()
	tr, err := kube.AuthenticationV1().TokenReviews().Create(t.Context(), &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: audiences},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return tr.Status
}

// authDelegator returns a client of a new ServiceAccount of acc bound to system:auth-delegator,
// once the grant has reached the authorizer.
func authDelegator(t *testing.T, acc *framework.Account) kubernetes.Interface {
	t.Helper()
	name := framework.RandomName("delegator-")
	token := serviceAccountToken(t, acc, name)
	grantRole(t, acc, "system:auth-delegator", "--serviceaccount=default:"+name, false)
	kube := kubeClient(t, server.TokenConfig(acc.Path, token))
	framework.Eventually(t, grantTimeout, func(ctx context.Context) (bool, error) {
		_, err := kube.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		return err == nil, nil
	}, "%s never got to review tokens", name)
	return kube
}

// subjectOf returns the subject of a SubjectAccessReview about the user a TokenReview returned,
// as an add-on passes it on.
func subjectOf(u authenticationv1.UserInfo) authorizationv1.SubjectAccessReviewSpec {
	spec := authorizationv1.SubjectAccessReviewSpec{User: u.Username, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		spec.Extra = map[string]authorizationv1.ExtraValue{}
		for k, v := range u.Extra {
			spec.Extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	return spec
}

// tokenAudiences returns the aud claim of a JWT.
func tokenAudiences(t *testing.T, token string) []string {
	t.Helper()
	_, payload, _ := jwtParts(t, token)
	var claims struct {
		Aud jwt.Audience `json:"aud"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	return claims.Aud
}

// TestDelegatedAuthentication plays an add-on that serves its own API inside an account. Its
// ServiceAccount, bound to system:auth-delegator by the account's owner (who is no
// system:masters), authenticates callers' tokens with TokenReviews, honouring audiences, and
// asks SubjectAccessReviews and LocalSubjectAccessReviews about them, whose answers match what
// the callers' own requests get and what kubectl auth can-i --as says. A caller without the
// grant gets 403.
func TestDelegatedAuthentication(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	owner := framework.RandomName("owner-")
	acc := newOrg(t, owner)
	ownerKubeconfig := userKubeconfig(t, acc.Path, owner)
	addonToken := serviceAccountToken(t, acc, "addon")
	appToken := serviceAccountToken(t, acc, "app")
	// The owner holds admin, and so may grant system:auth-delegator.
	kubectlEventually(t, ownerKubeconfig, "create", "clusterrolebinding", "addon-auth", "--clusterrole=system:auth-delegator", "--serviceaccount=default:addon")
	framework.Kubectl(t, ownerKubeconfig, "create", "rolebinding", "app-edit", "-n", "default", "--clusterrole=edit", "--serviceaccount=default:app")
	framework.Kubectl(t, ownerKubeconfig, "create", "clusterrolebinding", "dev-view", "--clusterrole=view", "--group=dev")
	addon := kubeClient(t, server.TokenConfig(acc.Path, addonToken))
	framework.Eventually(t, grantTimeout, func(ctx context.Context) (bool, error) {
		_, err := addon.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: appToken}}, metav1.CreateOptions{})
		return err == nil, nil
	}, "the add-on never got to review tokens")
	appCfg := server.TokenConfig(acc.Path, appToken)
	eventuallyAllowed(t, tokenActor(t, "app", appToken), "/clusters/"+acc.Path+"/api/v1/namespaces/default/configmaps")
	eventuallyAllowed(t, tokenActor(t, "alice", aliceToken), "/clusters/"+acc.Path+"/api/v1/namespaces/default/configmaps")
	ownerClient := kubeClient(t, userConfig(t, acc.Path, owner))

	// A ServiceAccount token of the account: the user whoami shows, for the API audiences.
	app := tokenReview(t, addon, appToken)
	require.True(t, app.Authenticated)
	require.Empty(t, app.Error)
	require.Equal(t, whoami(t, server.WriteTokenKubeconfig(t, acc.Path, appToken)), app.User)
	require.Equal(t, "system:serviceaccount:default:app", app.User.Username)
	require.Equal(t, []string{acc.ClusterID}, []string(app.User.Extra["accountmesh.io/account"]))
	require.Equal(t, tokenAudiences(t, appToken), app.Audiences)

	// A token for the add-on's own audience is valid for that audience only, as upstream.
	tr, err := acc.Kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "app", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"addon.example.com"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	forAddon := tr.Status.Token
	got := tokenReview(t, addon, forAddon, "addon.example.com", "other.example.com")
	require.True(t, got.Authenticated, got.Error)
	require.Equal(t, []string{"addon.example.com"}, got.Audiences)
	require.Equal(t, app.User.Username, got.User.Username)
	require.False(t, tokenReview(t, addon, forAddon).Authenticated, "not for the API's audience")
	require.False(t, tokenReview(t, addon, appToken, "addon.example.com").Authenticated, "an API token is not for the add-on")
	requireUnauthorized(t, server.TokenConfig(acc.Path, forAddon), "a token for the add-on at the API")

	// A static token is platform-wide: authenticated in every account, for the API audiences.
	alice := tokenReview(t, addon, aliceToken)
	require.True(t, alice.Authenticated, alice.Error)
	require.Equal(t, authenticationv1.UserInfo{Username: "alice", UID: aliceUID, Groups: []string{"dev", "ops", "system:authenticated"}}, alice.User)
	require.Equal(t, tokenAudiences(t, appToken), alice.Audiences)
	require.False(t, tokenReview(t, addon, aliceToken, "addon.example.com").Authenticated, "static tokens know no audiences but the API's")

	unknown := tokenReview(t, addon, "not-a-token")
	require.False(t, unknown.Authenticated)
	require.Equal(t, authenticationv1.UserInfo{}, unknown.User)
	require.NotEmpty(t, unknown.Error)

	// Access reviews about the callers match what their own requests get.
	base := "/clusters/" + acc.Path
	for _, c := range []struct {
		name   string
		method string
		path   string
		ra     *authorizationv1.ResourceAttributes
		nra    *authorizationv1.NonResourceAttributes
	}{
		{"list configmaps", http.MethodGet, "/api/v1/namespaces/default/configmaps", &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps", Namespace: "default"}, nil},
		{"get a secret", http.MethodGet, "/api/v1/namespaces/default/secrets/x", &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: "default", Name: "x"}, nil},
		{"delete a configmap", http.MethodDelete, "/api/v1/namespaces/default/configmaps/x", &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "configmaps", Namespace: "default", Name: "x"}, nil},
		{"list configmaps elsewhere", http.MethodGet, "/api/v1/namespaces/ops/configmaps", &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps", Namespace: "ops"}, nil},
		{"list namespaces", http.MethodGet, "/api/v1/namespaces", &authorizationv1.ResourceAttributes{Verb: "list", Resource: "namespaces"}, nil},
		{"list cluster role bindings", http.MethodGet, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", &authorizationv1.ResourceAttributes{Verb: "list", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, nil},
		{"read the account info", http.MethodGet, "/apis/core.accountmesh.io/v1alpha1/accountinfos/account", &authorizationv1.ResourceAttributes{Verb: "get", Group: "core.accountmesh.io", Resource: "accountinfos", Name: "account"}, nil},
		{"discovery", http.MethodGet, "/apis", nil, &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/apis"}},
		{"metrics", http.MethodGet, "/metrics", nil, &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}},
	} {
		for _, who := range []struct {
			name string
			user authenticationv1.UserInfo
			cfg  func() int
		}{
			{"app", app.User, func() int { return rawDo(t, appCfg, c.method, base+c.path) }},
			{"alice", alice.User, func() int { return rawDo(t, server.TokenConfig(acc.Path, aliceToken), c.method, base+c.path) }},
		} {
			real := who.cfg() != http.StatusForbidden
			spec := subjectOf(who.user)
			spec.ResourceAttributes, spec.NonResourceAttributes = c.ra, c.nra
			sar, err := addon.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
			require.NoError(t, err)
			require.Equal(t, real, sar.Status.Allowed, "%s: %s; the review says %+v", who.name, c.name, sar.Status)
			if c.ra == nil || c.ra.Namespace == "" {
				continue
			}
			// An account admin asks the same about one namespace.
			ns := c.ra.Namespace
			lsar, err := ownerClient.AuthorizationV1().LocalSubjectAccessReviews(ns).Create(ctx,
				&authorizationv1.LocalSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
			require.NoError(t, err, "a local review in %s, which does not have to exist", ns)
			require.Equal(t, real, lsar.Status.Allowed, "%s: %s (local)", who.name, c.name)
			if who.name == "app" {
				_, _, err = framework.KubectlResult(t, acc.Kubeconfig, "", "auth", "can-i", c.ra.Verb, c.ra.Resource, "-n", ns, "--as="+app.User.Username)
				require.Equal(t, real, err == nil, "%s: kubectl auth can-i --as", c.name)
			}
		}
	}
	require.Equal(t, http.StatusOK, rawDo(t, appCfg, http.MethodGet, base+"/api/v1/namespaces/default/configmaps"), "sanity: the app may list")
	require.Equal(t, http.StatusForbidden, rawDo(t, appCfg, http.MethodGet, base+"/api/v1/namespaces"), "sanity: the app may not list namespaces")

	// A local review about another namespace than its own is invalid, as upstream.
	spec := subjectOf(app.User)
	spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps", Namespace: "kube-system"}
	_, err = ownerClient.AuthorizationV1().LocalSubjectAccessReviews("default").Create(ctx,
		&authorizationv1.LocalSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	require.ErrorContains(t, err, `spec.resourceAttributes.namespace: Invalid value: "kube-system": must match metadata.namespace`)

	// Without the grant: the app's own token (edit in a namespace) and a viewer get 403.
	appClient := kubeClient(t, appCfg)
	_, err = appClient.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: addonToken}}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	viewer := kubeClient(t, server.TokenConfig(acc.Path, aliceToken))
	_, err = viewer.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	_, err = viewer.AuthorizationV1().LocalSubjectAccessReviews("kube-system").Create(ctx, &authorizationv1.LocalSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	_, err = appClient.AuthorizationV1().LocalSubjectAccessReviews("default").Create(ctx, &authorizationv1.LocalSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "edit does not ask about others: %v", err)
}
