package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// Static tokens of the shared server's --token-auth-file.
const (
	aliceToken = "alice-static-token"
	aliceUID   = "alice-uid"
)

// authenticationArgs starts the shared server's platform-wide OIDC issuer, writes its static
// token file and returns the server flags that use both.
func authenticationArgs(dir string) ([]string, func(), error) {
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(aliceToken+",alice,"+aliceUID+",\"dev,ops\"\n"), 0o600); err != nil {
		return nil, nil, err
	}
	p, err := framework.StartOIDCProvider(dir)
	if err != nil {
		return nil, nil, err
	}
	platformOIDC = p
	return []string{
		"--token-auth-file", tokens,
		"--oidc-issuer-url", p.Issuer,
		"--oidc-client-id", framework.OIDCNativeClientID,
		"--oidc-ca-file", p.CAFile,
		"--oidc-username-claim", "preferred_username",
		"--oidc-username-prefix", "platform:",
		"--oidc-groups-claim", "groups",
		"--oidc-groups-prefix", "platform:",
		// The web console signs in with the same (public) client.
		"--console-oidc-client-id", framework.OIDCNativeClientID,
	}, p.Close, nil
}

// whoami runs `kubectl auth whoami` and returns the user it reports.
func whoami(t *testing.T, kubeconfig string) authenticationv1.UserInfo {
	t.Helper()
	out := framework.Kubectl(t, kubeconfig, "auth", "whoami", "-o", "json")
	var review authenticationv1.SelfSubjectReview
	require.NoError(t, json.Unmarshal([]byte(out), &review), out)
	return review.Status.UserInfo
}

// grantRole binds a ClusterRole in account a to a subject (--user=x, --group=x or
// --serviceaccount=ns:name), inherited by the accounts below when inherit is set. Grants reach
// the authorizer through a watch, so callers poll (whoamiEventually) before relying on them.
func grantRole(t testing.TB, a *framework.Account, role, subject string, inherit bool) {
	t.Helper()
	name := framework.RandomName("grant-")
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrolebinding", name, "--clusterrole="+role, subject)
	if inherit {
		framework.Kubectl(t, a.Kubeconfig, "label", "clusterrolebinding", name, "accountmesh.io/inherit=true")
	}
}

// requireUnauthorized requires that a request with cfg is answered 401, and returns the body.
func requireUnauthorized(t *testing.T, cfg *rest.Config, what string) string {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	body, err := kube.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/configmaps").DoRaw(t.Context())
	require.True(t, apierrors.IsUnauthorized(err), "%s: want 401, got %v", what, err)
	return string(body)
}

// TestStaticTokenUser authenticates with a token of --token-auth-file: whoami shows the user,
// UID and groups of the file, and an unknown token gets 401.
func TestStaticTokenUser(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	grantRole(t, acc, "view", "--user=alice", false)
	kubeconfig := server.WriteTokenKubeconfig(t, acc.Path, aliceToken)
	whoamiEventually(t, kubeconfig)
	got := whoami(t, kubeconfig)
	require.Equal(t, "alice", got.Username)
	require.Equal(t, aliceUID, got.UID)
	require.ElementsMatch(t, []string{"dev", "ops", "system:authenticated"}, got.Groups)

	errOut := framework.KubectlFails(t, server.WriteTokenKubeconfig(t, acc.Path, "not-a-token"), "", "get", "configmaps")
	require.Contains(t, errOut, "You must be logged in to the server")
}

// TestServiceAccountTokens creates a token with `kubectl create token` and checks that it works
// in its account only: parent, child, sibling, root, the wildcard and an unknown account all
// answer 401, identically; tokens for another audience and tokens of a deleted (or deleted and
// recreated) ServiceAccount are rejected too.
func TestServiceAccountTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	acc := server.NewAccount(t, org.Path)
	child := server.NewAccount(t, acc.Path)
	sibling := server.NewAccount(t, org.Path)

	framework.Kubectl(t, acc.Kubeconfig, "create", "serviceaccount", "bot")
	token := strings.TrimSpace(framework.Kubectl(t, acc.Kubeconfig, "create", "token", "bot"))
	sa, err := acc.Kube.CoreV1().ServiceAccounts("default").Get(ctx, "bot", metav1.GetOptions{})
	require.NoError(t, err)
	grantRole(t, acc, "edit", "--serviceaccount=default:bot", false)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, acc.Path, token))

	for _, pathOrID := range []string{acc.Path, acc.ClusterID} {
		kubeconfig := server.WriteTokenKubeconfig(t, pathOrID, token)
		got := whoami(t, kubeconfig)
		require.Equal(t, "system:serviceaccount:default:bot", got.Username)
		require.Equal(t, string(sa.UID), got.UID)
		require.ElementsMatch(t, []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}, got.Groups)
		require.NotEmpty(t, got.Extra["authentication.kubernetes.io/credential-id"])
		framework.Kubectl(t, kubeconfig, "create", "configmap", "from-"+framework.RandomName("sa-"))
	}

	var bodies []string
	for _, target := range []string{org.Path, child.Path, sibling.Path, "root", org.Path + ":no-such-account", "no-such-id000000", "*"} {
		bodies = append(bodies, requireUnauthorized(t, server.TokenConfig(target, token), fmt.Sprintf("token of %s presented in %s", acc.Path, target)))
		errOut := framework.KubectlFails(t, server.WriteTokenKubeconfig(t, target, token), "", "get", "configmaps")
		require.Contains(t, errOut, "You must be logged in to the server", target)
	}
	for _, b := range bodies[1:] {
		require.Equal(t, bodies[0], b, "401 answers must not tell accounts apart")
	}
	_, err = kubernetes.NewForConfigOrDie(server.ConfigFor(org.Path+":no-such-account")).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsNotFound(err), "an authenticated caller still learns that an account does not exist: %v", err)

	other := strings.TrimSpace(framework.Kubectl(t, acc.Kubeconfig, "create", "token", "bot", "--audience", "vault"))
	requireUnauthorized(t, server.TokenConfig(acc.Path, other), "a token for another audience")
	errOut := framework.KubectlFails(t, acc.Kubeconfig, "", "create", "token", "bot", "--duration", "1m")
	require.Contains(t, errOut, "may not specify a duration less than 10m0s")
	errOut = framework.KubectlFails(t, acc.Kubeconfig, "", "create", "token", "nobody")
	require.Contains(t, errOut, `serviceaccounts "nobody" not found`)

	framework.Kubectl(t, acc.Kubeconfig, "delete", "serviceaccount", "bot")
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		kube, err := kubernetes.NewForConfig(server.TokenConfig(acc.Path, token))
		if err != nil {
			return false, err
		}
		_, err = kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(err), nil
	}, "the token of a deleted service account must be rejected")
	framework.Kubectl(t, acc.Kubeconfig, "create", "serviceaccount", "bot")
	requireUnauthorized(t, server.TokenConfig(acc.Path, token), "the token of a recreated service account")
}

// TestServiceAccountTokenSurvivesRestart checks that the signing key is kept under the root
// dir's pki: a token issued before a restart works after it.
func TestServiceAccountTokenSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, err := framework.StartServer(ctx, dir)
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	acc := s.NewAccount(t, "root")
	framework.Kubectl(t, acc.Kubeconfig, "create", "serviceaccount", "bot")
	token := strings.TrimSpace(framework.Kubectl(t, acc.Kubeconfig, "create", "token", "bot"))
	grantRole(t, acc, "view", "--serviceaccount=default:bot", false)
	key, err := os.ReadFile(filepath.Join(dir, "pki", "service-account.key"))
	require.NoError(t, err)

	s.Stop()
	require.NoError(t, s.Start(ctx))

	gotKey, err := os.ReadFile(filepath.Join(dir, "pki", "service-account.key"))
	require.NoError(t, err)
	require.Equal(t, key, gotKey)
	out := whoamiEventually(t, s.WriteTokenKubeconfig(t, acc.Path, token))
	require.Contains(t, out, `"username": "system:serviceaccount:default:bot"`)
}
