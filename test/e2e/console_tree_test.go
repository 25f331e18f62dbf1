package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// accountsYAML is a manifest of Account objects named name-00, name-01, ...
func accountsYAML(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: core.accountmesh.io/v1alpha1\nkind: Account\nmetadata: {name: %s%02d}\n", prefix, i)
	}
	return b.String()
}

// TestConsoleTreeLazy shows that the tree page loads a level at a time: in an organisation
// of 205 teams alice, signed in there, sees the organisation closed (its level is more than a
// page); she opens it with the keyboard and gets the first 200 teams, the rest with "Show
// more", opens a team, sees its accounts, one created with kubectl appearing live, and closes
// it again. Every call the page made for the tree asked for one level, never the whole
// subtree. Search asks the server and lists the matches flat.
func TestConsoleTreeLazy(t *testing.T) {
	t.Parallel()
	const teams = 205
	org := server.NewAccount(t, "root")
	grantRole(t, org, "admin", "--user=alice", true)
	kubectlApply(t, org.Kubeconfig, accountsYAML("team-", teams))
	framework.Kubectl(t, org.Kubeconfig, "wait", "accounts", "--all", "--for=jsonpath={.status.phase}=Ready", "--timeout=300s")
	first := org.Path + ":team-00"
	kubectlApply(t, server.WriteTokenKubeconfig(t, first, aliceToken), accountsYAML("deep-", 2))
	node := func(path string) string { return fmt.Sprintf(`#tree li[data-path=%q]`, path) }
	toggle := func(path string) string { return node(path) + ` > button.toggle` }

	b := signInBrowserAt(t, org.Path, "#search")
	showInTree(t, b, "")
	expanded := func(path string) string {
		return evalIn[string](t, b, `document.querySelector('`+node(path)+`').getAttribute('aria-expanded')`)
	}
	paths := func() []string {
		return evalIn[[]string](t, b, `[...document.querySelectorAll('#tree li[data-path]')].map(li => li.dataset.path)`)
	}
	require.Equal(t, []string{org.Path}, paths(), "a level of more than a page does not open by itself")
	require.Equal(t, "false", expanded(org.Path))
	require.Equal(t, fmt.Sprintf("%d below", teams), evalIn[string](t, b, `document.querySelector('`+node(org.Path)+` .below').textContent`))

	b.do(t, "open the organisation with the keyboard",
		chromedp.Focus(chromedp.CSS(toggle(org.Path))),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(node(first))),
	)
	require.Len(t, paths(), 201, "the organisation and a page of teams")
	require.Equal(t, "true", expanded(org.Path))
	b.do(t, "show more", chromedp.Click(chromedp.CSS(node(org.Path)+` li.more button`)),
		chromedp.WaitNotPresent(chromedp.CSS(node(org.Path)+` li.more`)))
	require.Len(t, paths(), teams+1, "the organisation and all its teams, no deeper")
	require.Equal(t, "false", expanded(first))
	require.Equal(t, "2 below", evalIn[string](t, b, `document.querySelector('`+node(first)+` .below').textContent`))
	require.Zero(t, evalIn[int](t, b, `document.querySelectorAll('`+node(org.Path+":team-01")+` > button.toggle').length`), "no toggle where nothing is below")

	b.do(t, "open a team",
		chromedp.Click(chromedp.CSS(toggle(first))),
		chromedp.WaitVisible(chromedp.CSS(node(first+":deep-01")+` .phase-Ready`)),
	)
	require.Equal(t, "true", expanded(first))
	require.Equal(t, "deep-00", evalIn[string](t, b, `document.querySelector('`+node(first+":deep-00")+` a').textContent`), "named relative to its parent")

	// An account created elsewhere appears in the open level, and turns Ready, without reload.
	kubectlApply(t, server.WriteTokenKubeconfig(t, first, aliceToken), accountsYAML("late-", 1))
	b.do(t, "the new account shows live", chromedp.WaitVisible(chromedp.CSS(node(first+":late-00")+` .phase-Ready`)))
	require.Equal(t, "3 below", evalIn[string](t, b, `document.querySelector('`+node(first)+` > .below').textContent`))

	b.do(t, "close the team",
		chromedp.Click(chromedp.CSS(toggle(first))),
		chromedp.WaitNotPresent(chromedp.CSS(node(first+":deep-00"))),
	)
	require.Equal(t, "false", expanded(first))

	calls := evalIn[[]string](t, b, `performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/accessibleaccounts'))`)
	require.NotEmpty(t, calls)
	for _, c := range calls {
		require.Contains(t, c, "fieldSelector=spec.parent", "the tree asked for more than one level")
		require.Contains(t, c, "limit=", "the tree asked for an unbounded level")
	}

	searchTree(t, b, "deep-")
	require.NotContains(t, evalIn[string](t, b, `document.getElementById('tree').textContent`), "null")
	require.Equal(t, []string{first + ":deep-00", first + ":deep-01"}, paths())
	searchTree(t, b, "01")
	require.Equal(t, []string{first + ":deep-01"}, paths())
	evalIn[bool](t, b, `(s => { s.value = ''; return s.dispatchEvent(new Event('input')); })(document.getElementById('search'))`)
	b.do(t, "the tree is back", chromedp.WaitReady(chromedp.CSS(`#tree-status[data-search=""]`)), chromedp.WaitVisible(chromedp.CSS(node(org.Path))))
	require.Equal(t, []string{org.Path}, paths())
}
