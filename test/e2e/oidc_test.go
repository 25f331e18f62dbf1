package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// identityProvider returns the JSON of an IdentityProvider for a test provider.
func identityProvider(name, issuer string, ca []byte) string {
	obj := map[string]any{
		"apiVersion": "iam.accountmesh.io/v1alpha1",
		"kind":       "IdentityProvider",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"issuerURL":            issuer,
			"clientID":             framework.OIDCNativeClientID,
			"audiences":            []string{framework.OIDCNativeClientID, framework.OIDCDeviceClientID},
			"usernameClaim":        "preferred_username",
			"groupsClaim":          "groups",
			"certificateAuthority": string(ca),
		},
	}
	b, _ := json.Marshal(obj)
	return string(b)
}

// loginSession is one user's kubeconfig and token cache.
type loginSession struct {
	kubeconfig string
	cacheDir   string
}

// newLoginSession writes a kubeconfig for an account without credentials.
func newLoginSession(t *testing.T, pathOrID string) *loginSession {
	t.Helper()
	return &loginSession{kubeconfig: server.WriteTokenKubeconfig(t, pathOrID, ""), cacheDir: t.TempDir()}
}

// login runs `kubectl mesh login` through kubectl and plays the user against provider p: in a
// browser (authorization code flow with PKCE) or, with device, on another device.
func (l *loginSession) login(t *testing.T, p *framework.OIDCProvider, user string, device bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dir, err := pluginDir()
	require.NoError(t, err)
	args := []string{"mesh", "login", "--issuer-url", p.Issuer, "--certificate-authority", p.CAFile, "--cache-dir", l.cacheDir}
	if device {
		args = append(args, "--device", "--client-id", framework.OIDCDeviceClientID, "--client-secret", framework.OIDCDeviceClientSecret)
	} else {
		args = append(args, "--client-id", framework.OIDCNativeClientID)
	}
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+l.kubeconfig, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var printed strings.Builder
	played := make(chan error, 1)
	scanner := bufio.NewScanner(stderr)
	codeRE := regexp.MustCompile(`enter the code (\S+)`)
	for scanner.Scan() {
		line := scanner.Text()
		printed.WriteString(line + "\n")
		switch trimmed := strings.TrimSpace(line); {
		case !device && strings.HasPrefix(trimmed, p.Issuer):
			go func() { played <- p.Login(ctx, trimmed, user) }()
		case device && codeRE.MatchString(line):
			code := codeRE.FindStringSubmatch(line)[1]
			go func() { played <- p.ApproveDevice(ctx, code, user) }()
		}
	}
	err = cmd.Wait()
	require.NoError(t, err, "kubectl mesh login failed\nstdout: %s\nstderr: %s", stdout.String(), printed.String())
	select {
	case err := <-played:
		require.NoError(t, err, "playing the user failed; login printed:\n%s", printed.String())
	default:
		require.Fail(t, "kubectl mesh login printed nothing to act on", printed.String())
	}
	require.Contains(t, stdout.String(), "Logged in with "+p.Issuer)
}

// cacheFile returns the one token cache file and its content.
func (l *loginSession) cacheFile(t *testing.T) (string, map[string]any) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(l.cacheDir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	info, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the token cache must be readable by its user only")
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(data, &c))
	return files[0], c
}

// idToken returns the cached ID token.
func (l *loginSession) idToken(t *testing.T) string {
	t.Helper()
	_, c := l.cacheFile(t)
	tok, _ := c["idToken"].(string)
	require.NotEmpty(t, tok)
	return tok
}

// whoamiEventually runs whoami until it succeeds: a new identity provider may still be loading
// its keys.
func whoamiEventually(t *testing.T, kubeconfig string) string {
	t.Helper()
	var out string
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		var err error
		out, _, err = framework.KubectlResult(t, kubeconfig, "", "auth", "whoami", "-o", "json")
		return err == nil, nil
	}, "whoami did not succeed")
	return out
}

// TestPlatformOIDCLogin logs in with the platform-wide issuer of the shared server (flags):
// the user is prefixed "platform:" and may be used in root and in any organisation.
func TestPlatformOIDCLogin(t *testing.T) {
	t.Parallel()
	org := server.NewAccount(t, "root")
	user := "--user=platform:" + platformOIDC.Users[0]
	grantRole(t, server.Root(t), "view", user, false)
	grantRole(t, org, "view", user, false)
	l := newLoginSession(t, "root")
	l.login(t, platformOIDC, platformOIDC.Users[0], false)
	whoamiEventually(t, l.kubeconfig)
	got := whoami(t, l.kubeconfig)
	require.Equal(t, "platform:"+platformOIDC.Users[0], got.Username)
	require.ElementsMatch(t, []string{"platform:" + framework.OIDCGroup, "system:authenticated"}, got.Groups)
	require.NotContains(t, got.Extra, "accountmesh.io/organization")
	inOrg := server.WriteTokenKubeconfig(t, org.Path, l.idToken(t))
	// Grants are needed in each account: root's (not inherited) does not reach the org.
	whoamiEventually(t, inOrg)
	got = whoami(t, inOrg)
	require.Equal(t, "platform:"+platformOIDC.Users[0], got.Username)
	// A TokenReview in any account authenticates a platform user, for the API's audiences only.
	review := tokenReview(t, authDelegator(t, server.NewAccount(t, "root")), l.idToken(t))
	require.True(t, review.Authenticated, review.Error)
	require.Equal(t, got, review.User)
	require.NotEmpty(t, review.Audiences)
	require.False(t, tokenReview(t, authDelegator(t, org), l.idToken(t), "addon.example.com").Authenticated)
}

// TestOrganizationIdentityProviders gives two organisations their own identity provider, each
// backed by its own OIDC provider. Users log in with kubectl mesh login (browser and device
// flow); they are who the provider says, prefixed with their organisation, anywhere in their
// organisation's subtree; their tokens are rejected, identically, in the other organisation,
// in root, in the wildcard and in unknown accounts; tokens are cached and refreshed.
func TestOrganizationIdentityProviders(t *testing.T) {
	t.Parallel()
	orgA, orgB := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	teamA := server.NewAccount(t, orgA.Path)
	providerA, err := framework.StartOIDCProvider(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(providerA.Close)
	providerB, err := framework.StartOIDCProvider(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(providerB.Close)

	framework.KubectlStdin(t, orgA.Kubeconfig, identityProvider("corp", providerA.Issuer, providerA.CAPEM), "apply", "-f", "-")
	framework.KubectlStdin(t, orgB.Kubeconfig, identityProvider("corp", providerB.Issuer, providerB.CAPEM), "apply", "-f", "-")
	for _, org := range []*framework.Account{orgA, orgB} {
		framework.Kubectl(t, org.Kubeconfig, "wait", "identityprovider/corp", "--for=condition=Ready", "--timeout=60s")
		prefix := framework.Kubectl(t, org.Kubeconfig, "get", "identityprovider", "corp", "-o", "jsonpath={.spec.usernamePrefix}")
		require.Equal(t, org.Path+":", prefix, "the username prefix defaults to the organisation's path")
	}

	// Organisation A's group may view A and everything below it (an inherited grant); B's user
	// gets a local grant in B. A binding in another organisation gives A's users nothing there.
	grantRole(t, orgA, "view", "--group="+orgA.Path+":"+framework.OIDCGroup, true)
	grantRole(t, orgB, "edit", "--user="+orgB.Path+":"+providerB.Users[1], false)
	grantRole(t, orgB, "admin", "--user="+orgA.Path+":"+providerA.Users[0], true)

	// A user of organisation A logs in in a browser.
	alice := newLoginSession(t, orgA.Path)
	alice.login(t, providerA, providerA.Users[0], false)
	var review struct {
		Status struct {
			UserInfo struct {
				Username string              `json:"username"`
				Groups   []string            `json:"groups"`
				Extra    map[string][]string `json:"extra"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(whoamiEventually(t, alice.kubeconfig)), &review))
	require.Equal(t, orgA.Path+":"+providerA.Users[0], review.Status.UserInfo.Username)
	require.ElementsMatch(t, []string{orgA.Path + ":" + framework.OIDCGroup, "system:authenticated"}, review.Status.UserInfo.Groups)
	require.Equal(t, []string{orgA.ClusterID}, review.Status.UserInfo.Extra["accountmesh.io/organization"])
	tokenA := alice.idToken(t)
	inTeam := server.WriteTokenKubeconfig(t, teamA.Path, tokenA)
	whoamiEventually(t, inTeam)
	got := whoami(t, inTeam)
	require.Equal(t, orgA.Path+":"+providerA.Users[0], got.Username, "an organisation's user works in its subtree")
	framework.Kubectl(t, inTeam, "get", "configmaps")
	out := framework.KubectlFails(t, inTeam, "", "create", "configmap", "nope")
	require.Contains(t, out, "forbidden", "view does not create")

	// A user of organisation B logs in with the device flow.
	bob := newLoginSession(t, orgB.Path)
	bob.login(t, providerB, providerB.Users[1], true)
	require.NoError(t, json.Unmarshal([]byte(whoamiEventually(t, bob.kubeconfig)), &review))
	require.Equal(t, orgB.Path+":"+providerB.Users[1], review.Status.UserInfo.Username)
	framework.Kubectl(t, bob.kubeconfig, "create", "configmap", "from-bob")
	tokenB := bob.idToken(t)

	// Each token is rejected outside its organisation, with the same answer everywhere.
	var bodies []string
	for _, c := range []struct{ token, target string }{
		{tokenA, orgB.Path}, {tokenA, "root"}, {tokenA, "*"}, {tokenA, orgA.Path + ":no-such-account"}, {tokenA, "root:no-such-org"},
		{tokenB, orgA.Path}, {tokenB, teamA.Path}, {tokenB, teamA.ClusterID}, {tokenB, "root"},
	} {
		bodies = append(bodies, requireUnauthorized(t, server.TokenConfig(c.target, c.token), "organisation token in "+c.target))
	}
	for _, b := range bodies[1:] {
		require.Equal(t, bodies[0], b, "401 answers must not tell accounts apart")
	}
	errOut := framework.KubectlFails(t, server.WriteTokenKubeconfig(t, orgB.Path, tokenA), "", "get", "configmaps")
	require.Contains(t, errOut, "You must be logged in to the server")

	// TokenReviews answer as the accounts' endpoints do (R12): an add-on below organisation A
	// authenticates A's user; one in organisation B reads A's token like an unknown one.
	inTeamA, inOrgB := authDelegator(t, teamA), authDelegator(t, orgB)
	reviewed := tokenReview(t, inTeamA, tokenA)
	require.True(t, reviewed.Authenticated, reviewed.Error)
	require.Equal(t, whoami(t, inTeam), reviewed.User)
	require.Equal(t, tokenReview(t, inOrgB, "not-a-token"), tokenReview(t, inOrgB, tokenA))
	require.False(t, tokenReview(t, inTeamA, tokenB).Authenticated)

	// The cached token is refreshed with the refresh token once it expires.
	file, cached := alice.cacheFile(t)
	cached["expiry"] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	data, err := json.Marshal(cached)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, data, 0o600))
	before := providerA.Refreshes()
	require.Equal(t, orgA.Path+":"+providerA.Users[0], whoami(t, alice.kubeconfig).Username)
	require.Greater(t, providerA.Refreshes(), before, "an expired cached token must be refreshed")
	require.NotEqual(t, tokenA, alice.idToken(t), "the refreshed ID token must be cached")
	_, cached = alice.cacheFile(t)
	expiry, err := time.Parse(time.RFC3339, cached["expiry"].(string))
	require.NoError(t, err)
	require.True(t, expiry.After(time.Now()), "the cache must hold the refreshed token's expiry")

	// Changing the identity provider takes effect without a restart.
	framework.Kubectl(t, orgA.Kubeconfig, "patch", "identityprovider", "corp", "--type=merge", "-p", `{"spec":{"usernamePrefix":"`+orgA.Path+`:corp:"}}`)
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, alice.kubeconfig, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		return err == nil && out == orgA.Path+":corp:"+providerA.Users[0], nil
	}, "the new username prefix must apply without a restart")

	// Deleting the identity provider takes effect without a restart.
	framework.Kubectl(t, orgA.Kubeconfig, "delete", "identityprovider", "corp")
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		kube, err := kubernetes.NewForConfig(server.TokenConfig(orgA.Path, alice.idToken(t)))
		if err != nil {
			return false, err
		}
		_, err = kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(err), nil
	}, "tokens of a deleted identity provider must be rejected")
}

// TestIdentityProviderValidation checks that identity providers are refused outside
// organisations with a clear 422, that bad specs change nothing, and that an unreachable
// issuer shows False conditions that say why.
func TestIdentityProviderValidation(t *testing.T) {
	t.Parallel()
	org := server.NewAccount(t, "root")
	acc := server.NewAccount(t, org.Path)
	ca := platformOIDC.CAPEM

	for _, kubeconfig := range []string{acc.Kubeconfig, server.Kubeconfig} {
		errOut := framework.KubectlFails(t, kubeconfig, identityProvider("corp", platformOIDC.Issuer, ca), "apply", "-f", "-")
		require.Contains(t, errOut, "is invalid")
		require.Contains(t, errOut, "identity providers can be created only in accounts of type org")
	}
	for _, c := range []struct{ name, spec, want string }{
		{"http", identityProvider("bad", "http://127.0.0.1:1", ca), "must be an https URL"},
		{"prefix", strings.Replace(identityProvider("bad", platformOIDC.Issuer, ca), `"usernameClaim"`, `"usernamePrefix":"platform:","usernameClaim"`, 1), "must start with " + fmt.Sprintf("%q", org.Path+":")},
		{"ca", strings.Replace(identityProvider("bad", platformOIDC.Issuer, ca), `"certificateAuthority":"`, `"certificateAuthority":"x`, 1), "must hold at least one PEM-encoded certificate"},
	} {
		errOut := framework.KubectlFails(t, org.Kubeconfig, c.spec, "apply", "-f", "-")
		require.Contains(t, errOut, c.want, c.name)
	}
	require.Empty(t, strings.TrimSpace(framework.Kubectl(t, org.Kubeconfig, "get", "identityproviders", "-o", "name")))

	framework.KubectlStdin(t, org.Kubeconfig, identityProvider("gone", "https://127.0.0.1:1", ca), "apply", "-f", "-")
	framework.Kubectl(t, org.Kubeconfig, "wait", "identityprovider/gone", "--for=condition=Ready=False", "--timeout=60s")
	msg := framework.Kubectl(t, org.Kubeconfig, "get", "identityprovider", "gone", "-o", `jsonpath={.status.conditions[?(@.type=="Discovery")].message}`)
	require.Contains(t, msg, "failed to fetch the discovery document https://127.0.0.1:1/.well-known/openid-configuration")
	require.Contains(t, msg, "connection refused")
	reason := framework.Kubectl(t, org.Kubeconfig, "get", "identityprovider", "gone", "-o", `jsonpath={.status.conditions[?(@.type=="Discovery")].reason}`)
	require.Equal(t, "Unreachable", reason)
}
