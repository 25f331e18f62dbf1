package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// xssPayload is markup that would run script if a page rendered it as HTML.
const xssPayload = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`

// consoleMarket is the fixture of the console's marketplace tests: alice is admin of mine
// (and below); pub exports db, a Shared managed service that alice may bind, with two plans
// (basic by default, pro), a permission claim and a catalog description that is an XSS
// payload; priv exports db to nobody.
type consoleMarket struct {
	mine, pub, priv *framework.Account
	category        string
}

func newConsoleMarket(t *testing.T) consoleMarket {
	t.Helper()
	m := consoleMarket{mine: server.NewAccount(t, "root"), pub: server.NewAccount(t, "root"), priv: server.NewAccount(t, "root"),
		category: framework.RandomName("cat-")}
	grantRole(t, m.mine, "admin", "--user=alice", true)
	for _, p := range []*framework.Account{m.pub, m.priv} {
		group := randomGroup()
		publishDatabases(t, p, "db", group, "")
		kubectlApply(t, p.Kubeconfig, `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIExport
metadata: {name: db}
spec:
  resources:
  - {group: `+group+`, name: databases, schema: v1.databases.`+group+`}
  permissionClaims:
  - {group: "", resource: configmaps, verbs: [get, list], selector: {matchLabels: {db.example.com/connection: "true"}}}
  catalog:
    displayName: Databases
    description: `+fmt.Sprintf("%q", "Managed databases. "+xssPayload)+`
    categories: [data, `+m.category+`]
    documentationURL: https://docs.example.com/db
    plans:
    - {name: basic, displayName: Basic, default: true}
    - {name: pro, displayName: Pro, description: More of everything.}
`+sharedServiceYAML)
		waitExportPlans(t, p, "db")
		kubectlApply(t, p.Kubeconfig, binderRoleYAML("db-binder", "db"))
	}
	framework.Kubectl(t, m.pub.Kubeconfig, "create", "clusterrolebinding", "alice-binds", "--clusterrole=db-binder", "--user=alice")
	whoamiEventually(t, server.WriteTokenKubeconfig(t, m.mine.Path, aliceToken))
	return m
}

// TestConsoleMarketplace drives the console's marketplace and orchestration pages in a real
// headless Chromium as alice: in her account she sees the provider's entry she may bind and not
// the private one, filters by category, reads the details (the XSS catalog description as
// text), binds it with the non-default plan
// accepting its claim, sees the binding Bound with that plan, ServiceConnected and its tenant
// space (checked with the API too), unbinds it, cannot reach another account's marketplace or
// an entry not hers by editing the URL, and watches a context's members go Ready live.
func TestConsoleMarketplace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newConsoleMarket(t)
	mine := m.mine
	theirs := server.NewAccount(t, "root")
	b := signInBrowser(t, "")
	pubEntry := marketplace.EntryName(clusterIDOf(m.pub), "db")
	privEntry := marketplace.EntryName(clusterIDOf(m.priv), "db")
	entry := chromedp.CSS(fmt.Sprintf(`#entries li[data-name=%q]`, pubEntry))

	t.Run("marketplace", func(t *testing.T) {
		b.do(t, "open the marketplace",
			chromedp.Navigate(server.BaseURL+"/console/#/account/"+mine.Path),
			chromedp.Click(chromedp.ID("marketplace-link")),
			chromedp.WaitVisible(entry),
			chromedp.WaitVisible(chromedp.ID("bindings-status")),
		)
		require.Equal(t, m.pub.Path, evalIn[string](t, b, fmt.Sprintf(`document.querySelector('#entries li[data-name=%q]').dataset.provider`, pubEntry)))
		page := evalIn[string](t, b, `document.body.innerText + document.body.innerHTML`)
		require.NotContains(t, page, m.priv.Path, "the marketplace shows an export alice may not bind")
		require.NotContains(t, page, privEntry)
		require.NotContains(t, page, m.priv.ClusterID)

		// The category filter: the entry is in its category, and not in "data"'s complement.
		cats := evalIn[[]string](t, b, `[...document.querySelectorAll('#category option')].map(o => o.value)`)
		require.Contains(t, cats, m.category)
		require.Contains(t, cats, "data")
		shown := func(cat string) []string {
			return evalIn[[]string](t, b, fmt.Sprintf(`(() => { const s = document.getElementById('category'); s.value = %q;
				s.dispatchEvent(new Event('change')); return [...document.querySelectorAll('#entries li')].map(li => li.dataset.name); })()`, cat))
		}
		require.Contains(t, shown(m.category), pubEntry)
		for _, name := range shown(m.category) {
			require.Equal(t, pubEntry, name, "an entry outside the category is shown")
		}
		require.Contains(t, shown(""), pubEntry)
	})

	t.Run("details and bind", func(t *testing.T) {
		b.do(t, "open the entry",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#entries li[data-name=%q] a.entry-link`, pubEntry))),
			chromedp.WaitVisible(chromedp.ID("bind-form")),
		)
		// The description is text; the documentation URL is a link.
		require.Contains(t, evalIn[string](t, b, `document.getElementById('entry-info').innerText`), xssPayload)
		require.Zero(t, evalIn[int](t, b, `document.querySelectorAll('main img, main script, main a[href^="javascript"]').length`))
		require.True(t, evalIn[bool](t, b, `window.pwned === undefined`))
		require.Equal(t, "https://docs.example.com/db", evalIn[string](t, b, `document.querySelector('#entry-info a').href`))
		// Plans and claims: the default preselected, Bind disabled until the claim is answered.
		require.Equal(t, "basic", evalIn[string](t, b, `document.getElementById('plan').value`))
		require.Equal(t, []string{"basic", "pro"}, evalIn[[]string](t, b, `[...document.querySelectorAll('#plans li')].map(li => li.dataset.plan)`))
		claim := evalIn[string](t, b, `document.getElementById('claims').innerText`)
		require.Contains(t, claim, "get, list on configmaps")
		require.Contains(t, claim, "db.example.com/connection=true")
		require.True(t, evalIn[bool](t, b, `document.getElementById('bind').disabled`), "Bind must wait for an answer to every claim")
		b.do(t, "choose pro, accept the claim",
			chromedp.SetValue(chromedp.ID("plan"), "pro"),
			chromedp.Click(chromedp.CSS(`#claims li[data-index="0"] input.claim-accept`)))
		start := time.Now()
		b.do(t, "bind",
			chromedp.Click(chromedp.ID("bind")),
			chromedp.WaitVisible(chromedp.CSS(`#bindings li[data-name="db"][data-phase="Bound"][data-plan="pro"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#bindings li[data-name="db"] .connected[data-status="True"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#bindings li[data-name="db"] .tenant-space`)),
		)
		t.Logf("bound and connected on the page %v after the click", time.Since(start))
		require.Equal(t, "tenant space namespace/db", evalIn[string](t, b, `document.querySelector('#bindings li[data-name="db"] .tenant-space').innerText`))
		// The entry shows the binding too, live.
		b.do(t, "the entry shows the binding", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#entries li[data-name=%q] .bound`, pubEntry))))

		// The API agrees: the plan, the accepted claim, Bound, connected, the tenant space.
		got, err := mine.Dynamic.Resource(bindingsGVR).Get(ctx, "db", metav1.GetOptions{})
		require.NoError(t, err)
		for path, want := range map[string]string{
			"spec.reference.export.path": m.pub.Path, "spec.reference.export.name": "db", "spec.plan": "pro",
			"status.plan": "pro", "status.phase": "Bound", "status.tenantSpace.namespace": "db",
		} {
			v, _, _ := unstructured.NestedString(got.Object, strings.Split(path, ".")...)
			require.Equal(t, want, v, path)
		}
		claims, _, _ := unstructured.NestedSlice(got.Object, "spec", "permissionClaims")
		require.Len(t, claims, 1)
		require.Equal(t, "Accepted", claims[0].(map[string]interface{})["state"])
		require.Equal(t, "configmaps", claims[0].(map[string]interface{})["resource"])
		waitBinding(t, mine, "db", "ServiceConnected", "True")
	})

	t.Run("unbind", func(t *testing.T) {
		b.do(t, "unbind",
			chromedp.Click(chromedp.CSS(`#bindings li[data-name="db"] button.unbind`)),
			chromedp.Click(chromedp.CSS(`#bindings li[data-name="db"] button.unbind-confirm`)),
			chromedp.WaitNotPresent(chromedp.CSS(`#bindings li[data-name="db"]`)),
			chromedp.WaitVisible(chromedp.ID("bindings-status")),
		)
		framework.Eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
			_, err := mine.Dynamic.Resource(bindingsGVR).Get(ctx, "db", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "the binding unbound in the console is still there")
	})

	t.Run("bind refused", func(t *testing.T) {
		// The grant is revoked while alice looks at the entry: Bind is refused by the server,
		// and the page says so.
		b.do(t, "open the entry again", chromedp.Navigate(server.BaseURL+"/console/#/marketplace/"+mine.Path+"/"+pubEntry),
			chromedp.WaitVisible(chromedp.ID("bind-form")))
		framework.Kubectl(t, m.pub.Kubeconfig, "delete", "clusterrolebinding", "alice-binds")
		aliceMarket := dynamicClient(t, userConfig(t, mine.Path, "alice"))
		framework.Eventually(t, marketplaceTimeout, func(ctx context.Context) (bool, error) {
			_, err := aliceMarket.Resource(entriesGVR).Get(ctx, pubEntry, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "the revoked entry is still in alice's marketplace")
		b.do(t, "bind", chromedp.Click(chromedp.CSS(`#claims li[data-index="0"] input.claim-reject`)), chromedp.Click(chromedp.ID("bind")),
			chromedp.WaitVisible(chromedp.CSS(`#bind-error:not(:empty)`)))
		require.Equal(t, "You may not bind this service here.", evalIn[string](t, b, `document.getElementById('bind-error').innerText`))
		notFound := func() bool {
			_, err := mine.Dynamic.Resource(bindingsGVR).Get(ctx, "db", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}
		require.True(t, notFound(), "a refused bind bound")
	})

	t.Run("no access by URL", func(t *testing.T) {
		// goTo empties the page before it follows a URL, so that what the test waits for is
		// the new page's.
		goTo := func(hash string) chromedp.Action[chromedp.Void] {
			require.True(t, evalIn[bool](t, b, `(document.getElementById('main').replaceChildren(), true)`))
			return chromedp.Navigate(server.BaseURL + "/console/#/" + hash)
		}
		// Another account's marketplace, bound services and contexts: "no access", as for an
		// account that does not exist; an entry alice may not bind: not in her marketplace.
		for _, p := range []string{theirs.Path, "root:" + framework.RandomName("absent-")} {
			b.do(t, "another marketplace", goTo("marketplace/"+p),
				chromedp.WaitVisible(chromedp.CSS(`#market-status.error`)), chromedp.WaitVisible(chromedp.CSS(`#bindings-status.error`)))
			require.Equal(t, "You have no access here.", evalIn[string](t, b, `document.getElementById('market-status').innerText`))
			b.do(t, "another account's contexts", goTo("contexts/"+p),
				chromedp.WaitVisible(chromedp.CSS(`#contexts-status.error`)))
			require.Equal(t, "You have no access here.", evalIn[string](t, b, `document.getElementById('contexts-status').innerText`))
			b.do(t, "an entry of another account", goTo("marketplace/"+p+"/"+pubEntry),
				chromedp.WaitVisible(chromedp.ID("entry-error")))
			require.Equal(t, "You have no access here.", evalIn[string](t, b, `document.getElementById('entry-error').innerText`))
			require.NotContains(t, evalIn[string](t, b, `document.body.innerHTML`), theirs.ClusterID)
		}
		b.do(t, "a private entry", goTo("marketplace/"+mine.Path+"/"+privEntry),
			chromedp.WaitVisible(chromedp.ID("entry-error")))
		require.Equal(t, "This service is not in your marketplace here.", evalIn[string](t, b, `document.getElementById('entry-error').innerText`))
		require.NotContains(t, evalIn[string](t, b, `document.body.innerHTML`), m.priv.Path)
	})

	t.Run("orchestration context", func(t *testing.T) {
		// Two ConfigMap members, web depending on db: the page shows them NotReady, web
		// waiting for db, then each Ready as its ConfigMap says so, without a reload.
		framework.Kubectl(t, mine.Kubeconfig, "create", "configmap", "db", "--from-literal=ready=false")
		framework.Kubectl(t, mine.Kubeconfig, "create", "configmap", "web", "--from-literal=ready=false")
		ready := "self.data.ready == 'true'"
		kubectlApply(t, mine.Kubeconfig, contextYAML("shop",
			memberYAML{name: "db", account: mine.Path, apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "db", readiness: ready},
			memberYAML{name: "web", account: mine.Path, apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "web", readiness: ready, dependsOn: []string{"db"}}))
		member := func(name, ready string) chromedp.CSS {
			return chromedp.CSS(fmt.Sprintf(`#members tr[data-member=%q][data-ready=%q]`, name, ready))
		}
		b.do(t, "open the contexts",
			chromedp.Navigate(server.BaseURL+"/console/#/account/"+mine.Path),
			chromedp.Click(chromedp.ID("orchestration-link")),
			chromedp.WaitVisible(chromedp.CSS(`#contexts li[data-name="default/shop"][data-ready="0/2"]`)),
			chromedp.Click(chromedp.CSS(`#contexts li[data-name="default/shop"] a`)),
			chromedp.WaitVisible(member("db", "false")),
			chromedp.WaitVisible(member("web", "false")),
		)
		require.Contains(t, evalIn[string](t, b, `document.querySelector('#members tr[data-member="web"]').innerText`), "db")
		require.Contains(t, evalIn[string](t, b, `document.querySelector('#edges li[data-member="web"]').innerText`), "depends on db")
		require.Contains(t, evalIn[string](t, b, `document.getElementById('context-summary').innerText`), "READY 0/2")

		start := time.Now()
		framework.Kubectl(t, mine.Kubeconfig, "patch", "configmap", "db", "--type=merge", "-p", `{"data":{"ready":"true"}}`)
		b.do(t, "db goes Ready", chromedp.WaitVisible(member("db", "true")), chromedp.WaitVisible(member("web", "false")))
		t.Logf("db Ready on the page %v after the patch was sent", time.Since(start))
		framework.Kubectl(t, mine.Kubeconfig, "patch", "configmap", "web", "--type=merge", "-p", `{"data":{"ready":"true"}}`)
		b.do(t, "web goes Ready", chromedp.WaitVisible(member("web", "true")),
			chromedp.WaitVisible(chromedp.CSS(`#context-summary [data-type="Ready"][data-status="True"]`)))
		require.Contains(t, evalIn[string](t, b, `document.getElementById('context-summary').innerText`), "READY 2/2")
		b.do(t, "the list shows it", chromedp.Click(chromedp.ID("contexts-link")),
			chromedp.WaitVisible(chromedp.CSS(`#contexts li[data-name="default/shop"][data-ready="2/2"]`)))
	})

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.problems, "the browser's console reported problems")
}
