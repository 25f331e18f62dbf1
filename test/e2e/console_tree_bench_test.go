package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// BenchmarkConsoleTree measures the console's tree page over TREE_ACCOUNTS (default 10,000)
// accounts: an organisation of 100 teams, each with as many projects as make up the number,
// all of them accessible to alice (admin of the organisation, inherited), who signs in there.
// Each iteration loads the page in a fresh tab with the browser's cache disabled (a first
// load) and reports, as medians:
//   - tti-ms: from navigation until the tree is drawn and answers clicks;
//   - first-load-KiB: the bytes of every response completed by then (page, modules,
//     session, the tree's levels), as the browser counts them;
//   - open-ms: opening one team (its projects listed and drawn);
//   - search-ms: a search that matches one project.
//
// Then it opens TREE_SESSIONS (default 300) console sessions over HTTP, each doing what the
// page does (sign in, the top level and the organisation's level, the list and watch of the
// organisation's accounts, the watch held open and read), and reports the server's heap in use (after a GC) and
// RSS per session. It also reports the size of the whole list in one response, what a tree
// that is not lazy would fetch.
//
//	go test ./test/e2e -run '^$' -bench ConsoleTree -benchtime 10x -timeout 60m
func BenchmarkConsoleTree(b *testing.B) {
	const teams = 100
	n := benchScale(b, "TREE_ACCOUNTS", 10000)
	sessions := benchScale(b, "TREE_SESSIONS", 300)
	perTeam := max(n/teams-1, 0)
	ctx := b.Context()
	org := server.NewAccount(b, "root")
	grantRole(b, org, "admin", "--user=alice", true)

	start := time.Now()
	create := func(parent string, count int, name func(int) string) {
		d, err := dynamic.NewForConfig(unthrottled(server.ConfigFor(parent)))
		require.NoError(b, err)
		require.NoError(b, parallel(count, 16, func(i int) error { return createAccountObject(b, d, name(i), "", "") }))
	}
	team := func(i int) string { return fmt.Sprintf("t%02d", i) }
	create(org.Path, teams, team)
	ready := func(want int) {
		c, err := versioned.NewForConfig(unthrottled(server.ConfigFor(org.Path)))
		require.NoError(b, err)
		framework.Eventually(b, 30*time.Minute, func(ctx context.Context) (bool, error) {
			l, err := c.AuthorizationV1alpha1().AccessibleAccounts().List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Ready"})
			return err == nil && len(l.Items) == want, nil
		}, "the accounts did not become Ready")
	}
	ready(teams + 1)
	require.NoError(b, parallel(teams, 4, func(i int) error {
		d, err := dynamic.NewForConfig(unthrottled(server.ConfigFor(org.Path + ":" + team(i))))
		if err != nil {
			return err
		}
		for j := range perTeam {
			if err := createAccountObject(b, d, fmt.Sprintf("p%03d", j), "", ""); err != nil {
				return err
			}
		}
		return nil
	}))
	total := teams * (perTeam + 1)
	ready(total + 1)
	b.Logf("%d accounts Ready in %s", total, time.Since(start).Round(time.Second))

	// What a tree that is not lazy fetches, against the first level of the lazy one.
	listBytes := func(query string) int {
		kube, err := kubernetes.NewForConfig(server.ConfigFor(org.Path))
		require.NoError(b, err)
		body, err := kube.Discovery().RESTClient().Get().RequestURI("/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts" + query).DoRaw(ctx)
		require.NoError(b, err)
		return len(body)
	}
	wholeList, oneLevel := listBytes(""), listBytes("?limit=200&fieldSelector="+url.QueryEscape("spec.parent="+org.Path))

	const drawn = `#tree-status[data-search=""]`
	br := signInBrowserAt(b, org.Path, drawn)
	var ttis, bytes, opens, searches []float64
	for i := 0; b.Loop(); i++ {
		br.do(b, "a fresh tab", chromedp.Navigate("about:blank"), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
			return err
		}))
		began := time.Now()
		br.do(b, "load the tree", chromedp.Navigate(server.BaseURL+"/console/#/"), chromedp.WaitReady(chromedp.CSS(drawn)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q]`, org.Path+":t99"))))
		ttis = append(ttis, float64(time.Since(began).Milliseconds()))
		bytes = append(bytes, evalIn[float64](b, br, `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
			.reduce((s, e) => s + e.transferSize, 0)`)/1024)

		t := org.Path + ":" + team(i%teams)
		began = time.Now()
		br.do(b, "open a team", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q] > button.toggle`, t))),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q]`, fmt.Sprintf("%s:p%03d", t, perTeam-1)))))
		opens = append(opens, float64(time.Since(began).Milliseconds()))

		began = time.Now()
		q := fmt.Sprintf("%s:p%03d", team(i%teams), i%max(perTeam, 1))
		br.do(b, "search", chromedp.SendKeys(chromedp.ID("search"), q), chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`#tree-status[data-search=%q]`, q))))
		searches = append(searches, float64(time.Since(began).Milliseconds()))
	}
	b.StopTimer()
	b.ReportMetric(float64(wholeList)/1024, "whole-list-KiB")
	b.ReportMetric(float64(oneLevel)/1024, "one-level-KiB")
	b.ReportMetric(median(ttis), "tti-ms")
	b.ReportMetric(median(bytes), "first-load-KiB")
	b.ReportMetric(median(opens), "open-ms")
	b.ReportMetric(median(searches), "search-ms")

	// Server memory per open console session.
	heapBefore, rssBefore := serverHeapInUse(b), rssKiB(b, server.PID())
	cb := newConsoleBrowser(b)
	var held []io.Closer
	b.Cleanup(func() {
		for _, c := range held {
			_ = c.Close()
		}
	})
	for range sessions {
		session, csrf := cb.signIn(b, aliceToken, org.Path)
		h := writeHeaders(csrf)
		for _, sel := range []string{"spec.parent=", "spec.parent=" + org.Path} {
			r := cb.do(b, http.MethodGet, consoleAPI(org.Path, "/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts?limit=200&fieldSelector="+url.QueryEscape(sel)), session, h, "")
			require.Equal(b, http.StatusOK, r.code, r.body)
		}
		// As the page's watch does: list, then watch from the list's resourceVersion, reading
		// what comes.
		accounts := consoleAPI(org.Path, "/apis/core.accountmesh.io/v1alpha1/accounts")
		r := cb.do(b, http.MethodGet, accounts, session, h, "")
		require.Equal(b, http.StatusOK, r.code, r.body)
		var list metav1.List
		require.NoError(b, json.Unmarshal([]byte(r.body), &list))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			server.BaseURL+accounts+"?watch=1&allowWatchBookmarks=true&resourceVersion="+list.ResourceVersion, nil)
		require.NoError(b, err)
		req.Header = h.Clone()
		req.AddCookie(&http.Cookie{Name: consoleCookie, Value: session})
		resp, err := cb.hc.Do(req)
		require.NoError(b, err)
		require.Equal(b, http.StatusOK, resp.StatusCode)
		held = append(held, resp.Body)
		go func() { _, _ = io.Copy(io.Discard, resp.Body) }()
	}
	heapAfter, rssAfter := serverHeapInUse(b), rssKiB(b, server.PID())
	b.ReportMetric(float64(heapAfter-heapBefore)/1024/float64(sessions), "heap-KiB/session")
	b.ReportMetric(float64(rssAfter-rssBefore)/float64(sessions), "rss-KiB/session")
}

// median returns the median of xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// serverHeapInUse returns the server's heap in use in bytes right after a garbage collection,
// the least of three samples (the controllers allocate meanwhile).
func serverHeapInUse(tb testing.TB) int64 {
	tb.Helper()
	least := heapAfterGC(tb)
	for range 2 {
		least = min(least, heapAfterGC(tb))
	}
	return least
}

func heapAfterGC(tb testing.TB) int64 {
	tb.Helper()
	kube, err := kubernetes.NewForConfig(server.Config)
	require.NoError(tb, err)
	_, err = kube.Discovery().RESTClient().Get().AbsPath("/debug/pprof/heap").Param("gc", "1").DoRaw(tb.Context())
	require.NoError(tb, err)
	body, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(tb.Context())
	require.NoError(tb, err)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(tb, err)
			return int64(f)
		}
	}
	tb.Fatal("no go_memstats_heap_inuse_bytes in /metrics")
	return 0
}
