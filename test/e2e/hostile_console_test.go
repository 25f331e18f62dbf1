package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileConsole attacks the web console's sessions and proxy (R45–R47 of
// docs/security.md): session fixation, forged and ended sessions, CSRF, one user's session
// acting as another, and the proxy as a way out of /clusters/ or around RBAC.
func TestHostileConsole(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// alice may edit in her account; bot is admin of another.
	mine := server.NewAccount(t, "root")
	theirs := server.NewAccount(t, "root")
	grantRole(t, mine, "edit", "--user=alice", false)
	framework.Kubectl(t, theirs.Kubeconfig, "create", "serviceaccount", "bot")
	botToken := strings.TrimSpace(framework.Kubectl(t, theirs.Kubeconfig, "create", "token", "bot"))
	grantRole(t, theirs, "admin", "--serviceaccount=default:bot", false)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, mine.Path, aliceToken))
	whoamiEventually(t, server.WriteTokenKubeconfig(t, theirs.Path, botToken))

	b := newConsoleBrowser(t)
	alice, aliceCSRF := b.signIn(t, aliceToken, mine.Path)
	bot, botCSRF := b.signIn(t, botToken, theirs.Path)
	cms := "/api/v1/namespaces/default/configmaps"
	// stored reports whether a ConfigMap exists in acc, read as admin.
	stored := func(t *testing.T, acc *framework.Account, name string) bool {
		t.Helper()
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false
		}
		require.NoError(t, err)
		return true
	}

	t.Run("the console's responses", func(t *testing.T) {
		// R46: a strict CSP on every page and answer, the session cookie out of scripts' reach.
		r := b.do(t, http.MethodGet, "/console/", "", nil, "")
		require.Equal(t, http.StatusOK, r.code)
		csp := r.header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'")
		require.Contains(t, csp, "script-src 'self'")
		require.NotContains(t, csp, "unsafe-inline")
		require.Contains(t, csp, "frame-ancestors 'none'")
		r = b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(aliceToken, mine.Path))
		require.Equal(t, http.StatusCreated, r.code, r.body)
		require.True(t, r.session.HttpOnly && r.session.Secure, "%+v", r.session)
		require.Equal(t, http.SameSiteStrictMode, r.session.SameSite)
		require.Equal(t, "/console/", r.session.Path)
		api := b.do(t, http.MethodGet, consoleAPI(mine.Path, cms), r.session.Value, http.Header{"X-Csrf-Token": {csrfOf(t, b, r.session.Value)}}, "")
		require.Equal(t, http.StatusOK, api.code, api.body)
		require.Contains(t, api.header.Get("Content-Security-Policy"), "sandbox")
		require.Equal(t, "nosniff", api.header.Get("X-Content-Type-Options"))
	})

	t.Run("session fixation", func(t *testing.T) {
		// R45: a session ID the client picks is never adopted, and signing in ends the
		// session the browser had.
		r := b.do(t, http.MethodPost, "/console/session", "attacker-chosen-session-id", origin(), signInBody(aliceToken, mine.Path))
		require.Equal(t, http.StatusCreated, r.code, r.body)
		require.NotEqual(t, "attacker-chosen-session-id", r.session.Value)
		require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, "/console/session", "attacker-chosen-session-id", nil, "").code)
		old, _ := b.signIn(t, aliceToken, mine.Path)
		r = b.do(t, http.MethodPost, "/console/session", old, origin(), signInBody(aliceToken, mine.Path))
		require.Equal(t, http.StatusCreated, r.code, r.body)
		require.NotEqual(t, old, r.session.Value)
		require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, "/console/session", old, nil, "").code, "signing in must end the old session")
	})

	t.Run("forged and bad credentials", func(t *testing.T) {
		// R45: a forged session is 401 everywhere; a bad token starts no session.
		for _, forged := range []string{"x", alice + "x", strings.ToUpper(alice), aliceCSRF} {
			require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, "/console/session", forged, nil, "").code)
			r := b.do(t, http.MethodGet, consoleAPI(mine.Path, cms), forged, http.Header{"X-Csrf-Token": {aliceCSRF}}, "")
			require.Equal(t, http.StatusUnauthorized, r.code, r.body)
		}
		r := b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody("not-a-token", mine.Path))
		require.Equal(t, http.StatusUnauthorized, r.code, r.body)
		require.Nil(t, r.session)
		// A token of another account: the same 401, nothing about the account.
		r = b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(botToken, mine.Path))
		require.Equal(t, http.StatusUnauthorized, r.code, r.body)
		require.NotContains(t, r.body, theirs.ClusterID)
		require.NotContains(t, r.body, theirs.Path)
		// No access: the same 403 for an account that exists and one that does not.
		in := b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(aliceToken, theirs.Path))
		absent := b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(aliceToken, "root:"+framework.RandomName("absent-")))
		require.Equal(t, http.StatusForbidden, in.code, in.body)
		require.Equal(t, http.StatusForbidden, absent.code, absent.body)
		require.NotContains(t, in.body, theirs.ClusterID)
		for _, bad := range []string{"*", "root/../x", "root%2Fx", ""} {
			r := b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(aliceToken, bad))
			if bad == "" {
				// root, where everyone may list the accounts they can access.
				require.Equal(t, http.StatusCreated, r.code, r.body)
				require.Contains(t, r.body, `"account":"root"`)
				continue
			}
			require.Equal(t, http.StatusUnprocessableEntity, r.code, "%q: %s", bad, r.body)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		// R46: without the session's CSRF token, with another session's, or from another
		// origin, nothing is done.
		for name, h := range map[string]http.Header{
			"no token":              origin(),
			"another session's":     writeHeaders(botCSRF),
			"no origin":             {"X-Csrf-Token": {aliceCSRF}},
			"another origin":        {"X-Csrf-Token": {aliceCSRF}, "Origin": {"https://evil.example"}},
			"cross-site fetch":      {"X-Csrf-Token": {aliceCSRF}, "Origin": {server.BaseURL}, "Sec-Fetch-Site": {"cross-site"}},
			"http origin":           {"X-Csrf-Token": {aliceCSRF}, "Origin": {strings.Replace(server.BaseURL, "https:", "http:", 1)}},
			"token in a query only": origin(),
		} {
			cm := framework.RandomName("csrf-")
			path := consoleAPI(mine.Path, cms)
			if name == "token in a query only" {
				path += "?csrf=" + aliceCSRF
			}
			r := b.do(t, http.MethodPost, path, alice, h, cmJSON(cm))
			require.Equal(t, http.StatusForbidden, r.code, "%s: %s", name, r.body)
			require.False(t, stored(t, mine, cm), name)
		}
		// Reads need the token too (the pages always send it).
		require.Equal(t, http.StatusForbidden, b.do(t, http.MethodGet, consoleAPI(mine.Path, cms), alice, nil, "").code)
		// Sign-in needs the server's origin (no login CSRF).
		require.Equal(t, http.StatusForbidden, b.do(t, http.MethodPost, "/console/session", "", http.Header{"Origin": {"https://evil.example"}}, signInBody(aliceToken, mine.Path)).code)
		require.Equal(t, http.StatusForbidden, b.do(t, http.MethodPost, "/console/session", "", nil, signInBody(aliceToken, mine.Path)).code)
		// Sign-out needs them as well, and the session lives on when refused.
		require.Equal(t, http.StatusForbidden, b.do(t, http.MethodDelete, "/console/session", alice, origin(), "").code)
		require.Equal(t, http.StatusOK, b.do(t, http.MethodGet, "/console/session", alice, nil, "").code)
		// The real thing works.
		cm := framework.RandomName("ok-")
		r := b.do(t, http.MethodPost, consoleAPI(mine.Path, cms), alice, writeHeaders(aliceCSRF), cmJSON(cm))
		require.Equal(t, http.StatusCreated, r.code, r.body)
		require.True(t, stored(t, mine, cm))
	})

	t.Run("one session acts as its user only", func(t *testing.T) {
		// R47: nothing the browser sends besides the session chooses the identity: not a
		// bearer token, an impersonation header, nor a client of another session.
		cm := framework.RandomName("as-bot-")
		for name, h := range map[string]http.Header{
			"bearer token":        {"Authorization": {"Bearer " + botToken}},
			"impersonation":       {"Impersonate-User": {"system:serviceaccount:default:bot"}},
			"impersonate masters": {"Impersonate-User": {"admin"}, "Impersonate-Group": {"system:masters"}},
		} {
			for k, v := range writeHeaders(aliceCSRF) {
				h[k] = v
			}
			r := b.do(t, http.MethodPost, consoleAPI(theirs.Path, cms), alice, h, cmJSON(cm))
			require.Equal(t, http.StatusForbidden, r.code, "%s: %s", name, r.body)
			require.NotContains(t, r.body, theirs.ClusterID)
			r = b.do(t, http.MethodGet, consoleAPI(mine.Path, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"), alice, h, "")
			require.Equal(t, http.StatusForbidden, r.code, "%s: alice (edit) may not list bindings: %s", name, r.body)
		}
		require.False(t, stored(t, theirs, cm))
		// alice's session with bot's CSRF token, bot's with alice's.
		require.Equal(t, http.StatusForbidden, b.do(t, http.MethodPost, consoleAPI(theirs.Path, cms), alice, writeHeaders(botCSRF), cmJSON(cm)).code)
		require.Equal(t, http.StatusForbidden, b.do(t, http.MethodPost, consoleAPI(theirs.Path, cms), bot, writeHeaders(aliceCSRF), cmJSON(cm)).code)
		require.False(t, stored(t, theirs, cm))
		// Absent and forbidden look the same through the console as through the API.
		forbidden := b.do(t, http.MethodGet, consoleAPI(theirs.Path, cms), alice, writeHeaders(aliceCSRF), "")
		absent := b.do(t, http.MethodGet, consoleAPI("root:"+framework.RandomName("absent-"), cms), alice, writeHeaders(aliceCSRF), "")
		require.Equal(t, http.StatusForbidden, forbidden.code, forbidden.body)
		require.Equal(t, http.StatusForbidden, absent.code, absent.body)
		require.NotContains(t, forbidden.body, theirs.ClusterID)
	})

	t.Run("no escalation through the console", func(t *testing.T) {
		// R47: the console's user holds what their token holds: alice (edit) cannot bind
		// herself admin.
		crb := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"mine"},` +
			`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"User","name":"alice"}]}`
		r := b.do(t, http.MethodPost, consoleAPI(mine.Path, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"), alice, writeHeaders(aliceCSRF), crb)
		require.Equal(t, http.StatusForbidden, r.code, r.body)
		_, err := mine.Kube.RbacV1().ClusterRoleBindings().Get(ctx, "mine", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%v", err)
	})

	t.Run("the proxy reaches accounts only", func(t *testing.T) {
		// R47: /console/api/ leads to /clusters/<account>/... and nowhere else: not the
		// server's other paths, not the wildcard, not through dot segments or encodings.
		for _, p := range []string{
			"/console/api/metrics",
			"/console/api/version",
			"/console/api/clusters/../metrics",
			"/console/api/clusters/" + mine.Path + "/../../metrics",
			"/console/api/clusters/%2e%2e/metrics",
			"/console/api/clusters/" + mine.Path + "%2F..%2F..%2Fmetrics",
			"/console/api//clusters/" + mine.Path + cms,
			"/console/api/clusters/" + mine.Path + "/./api/v1/namespaces",
			"/console/api/clusters/*/api/v1/configmaps",
			"/console/api/clusters/" + mine.Path + "\\..\\metrics",
			"/console/api/services/export/" + theirs.Path + "/x/clusters/*/api/v1/configmaps",
			"/console/api/clusters/",
			"/console/api/clusters",
			"/console/api/readyz",
		} {
			r := b.do(t, http.MethodGet, p, alice, writeHeaders(aliceCSRF), "")
			require.Equal(t, http.StatusNotFound, r.code, "%s: %s", p, r.body)
			require.NotContains(t, r.body, "apiserver_", p)
		}
		// Protobuf is not passed on; the answer is JSON.
		r := b.do(t, http.MethodGet, consoleAPI(mine.Path, cms), alice, http.Header{"X-Csrf-Token": {aliceCSRF}, "Accept": {"application/vnd.kubernetes.protobuf"}}, "")
		require.Equal(t, http.StatusOK, r.code)
		require.Contains(t, r.header.Get("Content-Type"), "application/json")
	})

	t.Run("sign-out and revoked tokens end sessions", func(t *testing.T) {
		// R45: sign-out deletes the session on the server; a token the API no longer accepts
		// ends it at the next call.
		s, csrf := b.signIn(t, aliceToken, mine.Path)
		require.Equal(t, http.StatusNoContent, b.do(t, http.MethodDelete, "/console/session", s, writeHeaders(csrf), "").code)
		require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, "/console/session", s, nil, "").code)
		require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, consoleAPI(mine.Path, cms), s, writeHeaders(csrf), "").code)

		// Outside its account, the ServiceAccount's token is simply without access: 403 as
		// for an account that does not exist, and the session lives on.
		for _, acc := range []string{mine.Path, mine.ClusterID, "root:" + framework.RandomName("absent-")} {
			r := b.do(t, http.MethodGet, consoleAPI(acc, cms), bot, writeHeaders(botCSRF), "")
			require.Equal(t, http.StatusForbidden, r.code, "%s: %s", acc, r.body)
			require.Contains(t, r.body, "you have no access here")
			require.NotContains(t, r.body, mine.ClusterID)
			require.Empty(t, r.header.Get("Www-Authenticate"))
		}
		require.Equal(t, http.StatusOK, b.do(t, http.MethodGet, "/console/session", bot, nil, "").code)

		require.NoError(t, theirs.Kube.CoreV1().ServiceAccounts("default").Delete(ctx, "bot", metav1.DeleteOptions{}))
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			return b.do(t, http.MethodGet, consoleAPI(theirs.Path, cms), bot, writeHeaders(botCSRF), "").code == http.StatusUnauthorized, nil
		}, "the deleted ServiceAccount's token still works through the console")
		require.Equal(t, http.StatusUnauthorized, b.do(t, http.MethodGet, "/console/session", bot, nil, "").code)
	})
}

// csrfOf returns the CSRF token of a session.
func csrfOf(t *testing.T, b *consoleBrowser, session string) string {
	t.Helper()
	r := b.do(t, http.MethodGet, "/console/session", session, nil, "")
	require.Equal(t, http.StatusOK, r.code, r.body)
	var info struct {
		CSRFToken string `json:"csrfToken"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &info))
	return info.CSRFToken
}
