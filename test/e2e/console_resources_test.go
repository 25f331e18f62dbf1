package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// screenshotsEnv names a folder where TestConsoleResources writes PNGs of the console's main
// pages (tree, account, members, resources, at 1280x800 and at 375 px wide); unset, it writes
// none.
const screenshotsEnv = "ACCOUNTMESH_CONSOLE_SCREENSHOTS"

// phoneWidth is the width of the narrow screen the pages must fit.
const phoneWidth = 375

// TestConsoleResources drives the resources page in a real headless Chromium as alice: her
// account's ConfigMaps with the server's columns (NAME, DATA, AGE), one created with kubectl
// appearing live, its YAML view with its data (an XSS payload as text, the YAML reading back
// as the object), a CRD she creates appearing in the list of resources with its printer
// columns, the account's Events newest first with one created through the API appearing live,
// another account's resources page saying only "no access"; the tree's search; and every page
// without horizontal scrolling at 375 px.
func TestConsoleResources(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	mine := server.NewAccount(t, "root")
	sibling := server.NewAccount(t, "root")
	// Her own account: she may do anything there, CRDs included.
	framework.Kubectl(t, mine.Kubeconfig, "create", "clusterrole", "everything", "--verb=*", "--resource=*.*")
	grantRole(t, mine, "everything", "--user=alice", false)
	grantRole(t, mine, "admin", "--user=alice", true)
	alice := server.WriteTokenKubeconfig(t, mine.Path, aliceToken)
	whoamiEventually(t, alice)
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		out, _, _ := framework.KubectlResult(t, alice, "", "auth", "can-i", "create", "customresourcedefinitions")
		return strings.TrimSpace(out) == "yes", nil
	}, "alice's grant does not apply")
	framework.Kubectl(t, alice, "create", "configmap", "first", "--from-literal=a=1", "--from-literal=b=2")
	kid := server.NewAccount(t, mine.Path)
	shots := os.Getenv(screenshotsEnv)
	if shots != "" {
		require.NoError(t, os.MkdirAll(shots, 0o755))
	}

	b := signInBrowser(t, mine.Path)
	// shot writes a PNG of the page as name.png when screenshots are asked for.
	shot := func(t *testing.T, name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
	}
	column := func(table string) []string {
		return evalIn[[]string](t, b, `[...document.querySelectorAll('#`+table+` thead th')].map(th => th.innerText)`)
	}
	row := func(table, name string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`#%s tr[data-name=%q]`, table, name))
	}

	t.Run("tree search", func(t *testing.T) {
		// Phases show where alice may read the Account objects: in her account.
		showInTree(t, b, kid.Path)
		b.do(t, "phase badge", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q] .phase-Ready`, kid.Path))))
		shot(t, "tree")
		searchTree(t, b, mine.Name)
		paths := evalIn[[]string](t, b, `[...document.querySelectorAll('#tree li')].map(li => li.dataset.path)`)
		require.Equal(t, []string{mine.Path, kid.Path}, paths)
		searchTree(t, b, ":"+kid.Name)
		paths = evalIn[[]string](t, b, `[...document.querySelectorAll('#tree li')].map(li => li.dataset.path)`)
		require.Equal(t, []string{kid.Path}, paths)
		searchTree(t, b, "-no-such")
		require.Zero(t, evalIn[int](t, b, `document.querySelectorAll('#tree li').length`))
		require.Equal(t, "No account matches.", evalIn[string](t, b, `document.getElementById('tree-status').innerText`))
	})

	t.Run("resources", func(t *testing.T) {
		b.do(t, "open the account", chromedp.Navigate(server.BaseURL+"/console/#/account/"+mine.Path),
			chromedp.WaitVisible(chromedp.ID("accountinfo")))
		shot(t, "account")
		b.do(t, "open members", chromedp.Click(chromedp.ID("members-link")),
			chromedp.WaitVisible(chromedp.CSS(`#grants li[data-subject="alice"]`)))
		shot(t, "members")
		b.do(t, "open resources", chromedp.Navigate(server.BaseURL+"/console/#/account/"+mine.Path),
			chromedp.Click(chromedp.ID("resources-link")),
			chromedp.Click(chromedp.CSS(`#kinds button[data-gr="configmaps"]`)),
			chromedp.WaitVisible(row("objects", "first")))
		require.Equal(t, []string{"NAMESPACE", "NAME", "DATA", "AGE"}, column("objects"))
		// The namespace filter: one namespace, the columns of kubectl get.
		require.True(t, evalIn[bool](t, b, `(() => { const s = document.getElementById('namespace');
			s.value = 'default'; s.dispatchEvent(new Event('change')); return true; })()`))
		b.do(t, "default namespace", until(`document.querySelector('#objects thead th')?.innerText === 'NAME'`),
			chromedp.WaitVisible(row("objects", "first")))
		require.Equal(t, []string{"NAME", "DATA", "AGE"}, column("objects"))
		cells := evalIn[[]string](t, b, `[...document.querySelectorAll('#objects tr[data-name="first"] td')].map(td => td.innerText)`)
		require.Len(t, cells, 3)
		require.Equal(t, []string{"first", "2"}, cells[:2])
		require.Regexp(t, `^[0-9]+[smhd]$`, cells[2])

		// A ConfigMap created with kubectl appears without a reload; its YAML shows its data,
		// the XSS payload as text.
		live := framework.RandomName("live-")
		payload := `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`
		framework.KubectlStdin(t, alice, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"greeting":"hello","xss":%q,"lines":"one\ntwo\n"}}`, live, payload), "create", "-f", "-")
		b.do(t, "see it live", chromedp.WaitVisible(row("objects", live)),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#objects tr[data-name=%q] button.open`, live))),
			chromedp.WaitVisible(chromedp.ID("yaml")),
			until(`document.getElementById('yaml').innerText.includes('greeting: hello')`))
		shot(t, "resources")
		text := evalIn[string](t, b, `document.getElementById('yaml').innerText`)
		require.Contains(t, text, "name: "+live)
		require.Contains(t, text, "greeting: hello")
		require.NotContains(t, text, "managedFields")
		require.Zero(t, evalIn[int](t, b, `document.querySelectorAll('#yaml *, #objects img, #objects script').length`))
		require.True(t, evalIn[bool](t, b, `window.pwned === undefined`))
		// The YAML reads back as the object.
		var got corev1.ConfigMap
		require.NoError(t, yaml.UnmarshalStrict([]byte(text), &got), text)
		want, err := mine.Kube.CoreV1().ConfigMaps("default").Get(ctx, live, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, want.Data, got.Data)
		require.Equal(t, want.ResourceVersion, got.ResourceVersion)
		require.Equal(t, map[string]string{"greeting": "hello", "xss": payload, "lines": "one\ntwo\n"}, got.Data)
		// Deleted with kubectl, it goes away live.
		framework.Kubectl(t, alice, "delete", "configmap", live)
		b.do(t, "gone live", chromedp.WaitNotPresent(row("objects", live)))
	})

	t.Run("CRD", func(t *testing.T) {
		// A CRD alice creates shows up in the list of resources, listed with its printer
		// columns.
		group := framework.RandomName("g") + ".example.com"
		framework.KubectlStdin(t, alice, fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
			"metadata":{"name":"widgets.%[1]s"},
			"spec":{"group":%[1]q,"scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
			"versions":[{"name":"v1","served":true,"storage":true,
				"schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{"color":{"type":"string"},"size":{"type":"integer"}}}}}},
				"additionalPrinterColumns":[{"name":"Color","type":"string","jsonPath":".spec.color"},{"name":"Size","type":"integer","jsonPath":".spec.size"},{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}]}]}}`, group),
			"create", "-f", "-")
		framework.Kubectl(t, alice, "wait", "--for=condition=Established", "crd/widgets."+group, "--timeout=60s")
		b.do(t, "see the new resource", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#kinds button[data-gr="widgets.%s"]`, group))))
		framework.KubectlStdin(t, alice, `{"apiVersion":"`+group+`/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"color":"blue","size":3}}`, "create", "-f", "-")
		b.do(t, "list widgets", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#kinds button[data-gr="widgets.%s"]`, group))),
			chromedp.WaitVisible(row("objects", "w1")))
		require.Equal(t, []string{"NAME", "COLOR", "SIZE", "AGE"}, column("objects"))
		cells := evalIn[[]string](t, b, `[...document.querySelectorAll('#objects tr[data-name="w1"] td')].map(td => td.innerText)`)
		require.Equal(t, []string{"w1", "blue", "3"}, cells[:3])
		require.Regexp(t, `^[0-9]+[smhd]$`, cells[3])
	})

	t.Run("events", func(t *testing.T) {
		// Events of the account, newest first; one created through the API appears live.
		now := time.Now()
		event := func(name, reason string, at time.Time) {
			_, err := mine.Kube.CoreV1().Events("default").Create(ctx, &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: name},
				InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Namespace: "default", Name: "first"},
				Reason:         reason, Message: "<b>" + reason + "</b> happened", Type: corev1.EventTypeWarning,
				FirstTimestamp: metav1.NewTime(at), LastTimestamp: metav1.NewTime(at), Count: 1,
				Source: corev1.EventSource{Component: "e2e"},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
		}
		older := framework.RandomName("older-")
		event(older, "Older", now.Add(-time.Hour))
		newer := framework.RandomName("newer-")
		b.do(t, "older event", chromedp.WaitVisible(row("events", older)))
		event(newer, "Newer", now)
		b.do(t, "newer event", chromedp.WaitVisible(row("events", newer)))
		names := evalIn[[]string](t, b, `[...document.querySelectorAll('#events tbody tr')].map(tr => tr.dataset.name)`)
		require.Less(t, slices.Index(names, newer), slices.Index(names, older), "newest first: %q", names)
		require.NotEqual(t, -1, slices.Index(names, newer))
		require.Equal(t, []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}, column("events"))
		text := evalIn[string](t, b, `document.querySelector('#events tr[data-name="`+newer+`"]').innerText`)
		require.Contains(t, text, "configmap/first")
		require.Contains(t, text, "<b>Newer</b> happened")
		require.Zero(t, evalIn[int](t, b, `document.querySelectorAll('#events b').length`))
		shot(t, "resources-events")
	})

	t.Run("no access", func(t *testing.T) {
		// Another account's resources page, by editing the address: "no access", nothing of it.
		for _, p := range []string{sibling.Path, "root:" + framework.RandomName("absent-")} {
			b.do(t, "open "+p, chromedp.Navigate(server.BaseURL+"/console/#/resources/"+p),
				chromedp.WaitVisible(chromedp.ID("resources-error")))
			require.Equal(t, "You have no access here.", evalIn[string](t, b, `document.getElementById('resources-error').innerText`))
			page := evalIn[string](t, b, `document.body.innerHTML`)
			require.NotContains(t, page, sibling.ClusterID)
			require.NotContains(t, page, "kinds")
		}
	})

	t.Run("narrow screen", func(t *testing.T) {
		// At 375 px wide no page scrolls sideways.
		b.do(t, "phone", chromedp.EmulateViewport(phoneWidth, 800))
		pages := []struct{ name, hash, ready string }{
			{"tree", "#/", `#tree li`},
			{"account", "#/account/" + mine.Path, `#accountinfo`},
			{"members", "#/members/" + mine.Path, `#grants li`},
			{"resources", "#/resources/" + mine.Path + "?group=&version=v1&resource=configmaps&namespace=default&name=first", `#yaml`},
		}
		for _, p := range pages {
			b.do(t, p.name, chromedp.Navigate(server.BaseURL+"/console/"+p.hash),
				chromedp.WaitVisible(chromedp.CSS(p.ready)))
			if p.name == "resources" {
				b.do(t, "objects and events", chromedp.WaitVisible(row("objects", "first")),
					until(`document.getElementById('yaml').innerText.includes('name: first')`),
					chromedp.WaitVisible(chromedp.CSS(`#events tbody tr`)))
			}
			width := evalIn[int](t, b, `document.documentElement.scrollWidth`)
			require.LessOrEqual(t, width, phoneWidth, "%s scrolls sideways at %d px", p.name, phoneWidth)
			shot(t, p.name+"-phone")
		}
		b.do(t, "desktop", chromedp.EmulateViewport(1280, 800))
	})

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.problems, "the browser's console reported problems")
}

// until waits until the JavaScript expression is true in the page.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))(ctx, tg)
		return err
	})
}
