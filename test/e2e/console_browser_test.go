package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// chromiumPath is where Debian's chromium is (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium tab for one test, with what its console reported.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// newBrowser starts a fresh headless Chromium (own profile) that trusts any certificate (the
// server's CA is the test's own).
func newBrowser(t testing.TB) *browser {
	t.Helper()
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "the browser tests need Debian's chromium (apt-get install -y chromium)")
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	b := &browser{ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// Exceptions, console.error/warn of the pages and security reports (CSP) are
			// problems; network logs of refused requests are not.
			if m.IsException() || m.Type == "error" && m.Source != "network" || m.Type == "warning" && m.Source == "" || m.Source == "security" {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps, within a minute.
func (b *browser) do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.mu.Lock()
		defer b.mu.Unlock()
		require.NoError(t, err, "%s; the page shows:\n%s\nconsole problems: %q", what, text, b.problems)
	}
}

// eval evaluates a JavaScript expression, awaiting a promise.
func evalIn[T any](t testing.TB, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err, expr)
	return v
}

// TestConsoleBrowser drives the console in a real headless Chromium as alice, with her static
// token: she sees the accounts she can access and not a sibling's, creates a child account
// through the page and sees it become Ready live, sees one created with kubectl appear without
// a reload (its XSS display name as text), deletes one with a typed confirmation, grants and
// revokes a role "and below" on the members page and sees it inherited below, cannot read
// the session cookie from scripts, cannot POST without the CSRF token, and signs out.
func TestConsoleBrowser(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	mine := server.NewAccount(t, "root")
	sibling := server.NewAccount(t, "root")
	grantRole(t, mine, "admin", "--user=alice", true)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, mine.Path, aliceToken))

	b := signInBrowser(t, mine.Path)
	require.Equal(t, "alice", evalIn[string](t, b, `document.getElementById('user').textContent`), "the header names the user signed in to root")
	page := evalIn[string](t, b, `document.body.innerText + document.body.innerHTML`)
	require.NotContains(t, page, sibling.Path, "the tree shows an account alice cannot access")
	require.NotContains(t, page, sibling.ClusterID)

	t.Run("session cookie", func(t *testing.T) {
		var cookies []*network.Cookie
		b.do(t, "read cookies", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{server.BaseURL + "/console/"}})
			cookies = res.Cookies
			return err
		}))
		require.Len(t, cookies, 1)
		c := cookies[0]
		require.Equal(t, consoleCookie, c.Name)
		require.True(t, c.HTTPOnly)
		require.True(t, c.Secure)
		require.Equal(t, network.CookieSameSiteStrict, c.SameSite)
		require.Equal(t, "/console/", c.Path)
		require.Empty(t, evalIn[string](t, b, `document.cookie`), "scripts must not read the session cookie")
	})

	t.Run("CSRF", func(t *testing.T) {
		// A script of the page's origin that does not send the token is refused, and
		// nothing is created.
		code := evalIn[int](t, b, `fetch('/console/api/clusters/`+mine.Path+`/api/v1/namespaces/default/configmaps', {method: 'POST',
			headers: {'Content-Type': 'application/json'}, body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"forged"}}'}).then(r => r.status)`)
		require.Equal(t, http.StatusForbidden, code)
		_, err := mine.Kube.CoreV1().ConfigMaps("default").Get(ctx, "forged", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%v", err)
	})

	t.Run("search", func(t *testing.T) {
		searchTree(t, b, mine.Name)
		paths := evalIn[[]string](t, b, `[...document.querySelectorAll('#tree li')].map(li => li.dataset.path)`)
		require.Contains(t, paths, mine.Path)
		for _, p := range paths {
			require.Contains(t, p, mine.Name)
		}
	})

	t.Run("account page", func(t *testing.T) {
		b.do(t, "open the account",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q] a`, mine.Path))),
			chromedp.WaitVisible(chromedp.ID("accountinfo")),
			chromedp.WaitVisible(chromedp.ID("children-status")),
		)
		info := evalIn[string](t, b, `document.getElementById('accountinfo').innerText`)
		require.Contains(t, info, mine.ClusterID)
		require.Contains(t, info, mine.Path)

		// Create a child through the page: it appears, and turns Ready, without a reload.
		kid := framework.RandomName("kid-")
		b.do(t, "create a child",
			chromedp.SendKeys(chromedp.ID("child-name"), kid),
			chromedp.Click(chromedp.ID("create")),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#children li[data-name=%q]`, kid))),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#children li[data-name=%q] .phase-Ready`, kid))),
		)
		// It was created as alice: she owns it.
		created, err := mine.Dynamic.Resource(framework.AccountsGVR).Get(ctx, kid, metav1.GetOptions{})
		require.NoError(t, err)
		owner, _, _ := unstructured.NestedString(created.Object, "spec", "owner")
		require.Equal(t, "alice", owner)

		// One created elsewhere appears too; its display name stays text.
		xss := framework.RandomName("xss-")
		payload := `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`
		framework.KubectlStdin(t, mine.Kubeconfig, fmt.Sprintf(`{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":%q},"spec":{"displayName":%q}}`, xss, payload), "create", "-f", "-")
		b.do(t, "see the other child", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#children li[data-name=%q]`, xss))))
		require.Contains(t, evalIn[string](t, b, `document.getElementById('children').innerText`), payload)
		require.Zero(t, evalIn[int](t, b, `document.querySelectorAll('#children img, #children script').length`))
		require.True(t, evalIn[bool](t, b, `window.pwned === undefined`))

		// Delete with a typed confirmation: the button stays disabled until the name is typed.
		sel := func(s string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`#children li[data-name=%q] %s`, kid, s)) }
		b.do(t, "ask to delete", chromedp.Click(sel("button.secondary")), chromedp.WaitVisible(sel("input.confirm")),
			chromedp.SendKeys(sel("input.confirm"), kid[:3]))
		require.True(t, evalIn[bool](t, b, fmt.Sprintf(`document.querySelector('#children li[data-name=%q] button.danger').disabled`, kid)))
		b.do(t, "delete", chromedp.SendKeys(sel("input.confirm"), kid[3:]), chromedp.Click(sel("button.danger")),
			chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`#children li[data-name=%q]`, kid))))
		framework.Eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
			_, err := mine.Dynamic.Resource(framework.AccountsGVR).Get(ctx, kid, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "the child deleted in the console is still there")
	})

	t.Run("members", func(t *testing.T) {
		// Grants here, a grant and a revoke with "and below" through the page, and a child
		// shows the inherited grant with where it comes from.
		grant := func(subject string) chromedp.CSS {
			return chromedp.CSS(fmt.Sprintf(`#grants li[data-subject=%q][data-role="view"]`, subject))
		}
		bob := framework.RandomName("bob-")
		b.do(t, "open members", chromedp.Click(chromedp.ID("members-link")),
			chromedp.WaitVisible(chromedp.CSS(`#grants li[data-subject="alice"][data-role="admin"] .below`)),
			chromedp.SendKeys(chromedp.ID("grant-subject"), bob),
			chromedp.SetValue(chromedp.ID("grant-role"), "view"),
			chromedp.Click(chromedp.ID("grant-below")),
			chromedp.Click(chromedp.ID("grant")),
			chromedp.WaitVisible(grant(bob)))
		crb, err := mine.Kube.RbacV1().ClusterRoleBindings().Get(ctx, "accountmesh:grant:view:inherited", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "true", crb.Labels["accountmesh.io/inherit"])
		require.Len(t, crb.Subjects, 1)
		require.Equal(t, bob, crb.Subjects[0].Name)
		b.do(t, "revoke", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#grants li[data-subject=%q] button.revoke`, bob))),
			chromedp.WaitNotPresent(grant(bob)))
		_, err = mine.Kube.RbacV1().ClusterRoleBindings().Get(ctx, "accountmesh:grant:view:inherited", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%v", err)

		child := framework.RandomName("team-")
		framework.KubectlStdin(t, mine.Kubeconfig, fmt.Sprintf(`{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":%q}}`, child), "create", "-f", "-")
		server.WaitForAccountReady(ctx, t, mine.Path, child)
		b.do(t, "a child's members", chromedp.Navigate(server.BaseURL+"/console/#/members/"+mine.Path+":"+child),
			chromedp.WaitVisible(chromedp.CSS(`#grants li[data-subject="alice"] .inherited`)))
		require.Contains(t, evalIn[string](t, b, `document.getElementById('grants').innerText`), "inherited from "+mine.Path)
	})

	t.Run("no access", func(t *testing.T) {
		// The sibling's page says only that alice has no access, as for an absent account.
		for _, p := range []string{sibling.Path, "root:" + framework.RandomName("absent-")} {
			b.do(t, "open "+p, chromedp.Navigate(server.BaseURL+"/console/#/account/"+p), chromedp.WaitVisible(chromedp.ID("account-error")))
			require.Equal(t, "You have no access here.", evalIn[string](t, b, `document.getElementById('account-error').innerText`))
			require.NotContains(t, evalIn[string](t, b, `document.body.innerHTML`), sibling.ClusterID)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		b.do(t, "sign out", chromedp.Navigate(server.BaseURL+"/console/"), chromedp.WaitVisible(chromedp.ID("signout")),
			chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
		// The page reloaded: still signed out (the server ended the session).
		b.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("token")))
	})

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.problems, "the browser's console reported problems")
}
