package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

// consoleCookie is the name of the console's session cookie.
const consoleCookie = "__Secure-accountmesh-console"

// consoleBrowser is a raw HTTP client of the console: it trusts the server's CA and presents no
// client certificate; requests carry exactly the cookie and headers a test gives them.
type consoleBrowser struct {
	hc *http.Client
}

func newConsoleBrowser(t testing.TB) *consoleBrowser {
	t.Helper()
	tlsCfg, err := rest.TLSConfigFor(rest.AnonymousClientConfig(server.Config))
	require.NoError(t, err)
	return &consoleBrowser{hc: &http.Client{
		Transport:     &http.Transport{TLSClientConfig: tlsCfg.Clone(), ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// consoleResponse is what the console answered.
type consoleResponse struct {
	code   int
	body   string
	header http.Header
	// session is the session cookie the response set, if any.
	session *http.Cookie
}

// do sends method rawPath (sent as it is, not cleaned) with the session cookie (if not empty)
// and header.
func (b *consoleBrowser) do(t testing.TB, method, rawPath, session string, header http.Header, body string) consoleResponse {
	t.Helper()
	base, err := url.Parse(server.BaseURL)
	require.NoError(t, err)
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Opaque: "//" + base.Host + rawPath}
	req, err := http.NewRequestWithContext(t.Context(), method, u.String(), bytes.NewBufferString(body))
	require.NoError(t, err)
	req.URL = u
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: consoleCookie, Value: session})
	}
	resp, err := b.hc.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := consoleResponse{code: resp.StatusCode, body: string(out), header: resp.Header}
	for _, c := range resp.Cookies() {
		if c.Name == consoleCookie {
			r.session = c
		}
	}
	return r
}

// origin is the Origin header of the console's own pages.
func origin() http.Header {
	return http.Header{"Origin": {server.BaseURL}}
}

// writeHeaders are the headers the console's pages send with a state-changing API call.
func writeHeaders(csrf string) http.Header {
	return http.Header{"Origin": {server.BaseURL}, "X-Csrf-Token": {csrf}}
}

// signIn signs in with token to account and returns the session ID and CSRF token.
func (b *consoleBrowser) signIn(t testing.TB, token, account string) (string, string) {
	t.Helper()
	r := b.do(t, http.MethodPost, "/console/session", "", origin(), signInBody(token, account))
	require.Equal(t, http.StatusCreated, r.code, r.body)
	require.NotNil(t, r.session, "sign-in set no session cookie")
	var info struct {
		CSRFToken string `json:"csrfToken"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &info))
	require.NotEmpty(t, info.CSRFToken)
	return r.session.Value, info.CSRFToken
}

func signInBody(token, account string) string {
	b, _ := json.Marshal(map[string]string{"token": token, "account": account})
	return string(b)
}

// cmJSON is the JSON of a ConfigMap named name.
func cmJSON(name string) string {
	return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"}}`
}

// consoleAPI is the console proxy's path of an account's API path.
func consoleAPI(account, path string) string {
	return "/console/api/clusters/" + account + "/" + strings.TrimPrefix(path, "/")
}

// signInBrowser signs alice in to root with her token in a fresh browser and opens the tree
// down to the row of path ("" for none).
func signInBrowser(t *testing.T, path string) *browser {
	t.Helper()
	b := signInBrowserAt(t, "root", "#search")
	showInTree(t, b, path)
	return b
}

// showInTree opens the rows above path on the tree page, a level at a time as a user would
// (the tree opens only small levels by itself), asks for more of a level while its page does
// not hold the next row on the way, and waits until the row of path shows. With path "", it
// waits until the tree has opened what it opens by itself.
func showInTree(t testing.TB, b *browser, path string) {
	t.Helper()
	b.do(t, "the tree", chromedp.WaitReady(chromedp.CSS(`#tree-status[data-search=""]`)))
	if path == "" {
		return
	}
	parts := strings.Split(path, ":")
	for i := 1; i <= len(parts); i++ {
		p := strings.Join(parts[:i], ":")
		row := fmt.Sprintf(`#tree li[data-path=%q]`, p)
		// The level that would hold the row: below its parent's row when that is open, else
		// the top.
		level := fmt.Sprintf(`(document.querySelector(%q) || document.getElementById('tree'))`,
			fmt.Sprintf(`#tree li[data-path=%q][aria-expanded="true"] > ul`, strings.Join(parts[:i-1], ":")))
		for evalIn[bool](t, b, fmt.Sprintf(`!document.querySelector(%q) && !!%s.querySelector(':scope > li.more')`, row, level)) {
			n := evalIn[int](t, b, level+`.children.length`)
			b.do(t, "more accounts", chromedp.Click(chromedp.JSPath(level+`.querySelector(':scope > li.more button')`)),
				until(fmt.Sprintf(`%s.children.length !== %d`, level, n)))
		}
		if i < len(parts) && evalIn[bool](t, b, fmt.Sprintf(`!!document.querySelector(%q)`, row+`[aria-expanded="false"]`)) {
			b.do(t, "open "+p, chromedp.Click(chromedp.CSS(row+` > button.toggle`)),
				chromedp.WaitReady(chromedp.CSS(row+` > ul > li`)))
		}
	}
	b.do(t, "the row of "+path, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#tree li[data-path=%q]`, path))))
}

// signInBrowserAt signs alice in to account with her token in a fresh browser and waits until
// the element of the CSS selector sel shows.
func signInBrowserAt(t testing.TB, account, sel string) *browser {
	t.Helper()
	b := newBrowser(t)
	b.do(t, "sign in",
		chromedp.Navigate(server.BaseURL+"/console/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), aliceToken),
		chromedp.SetValue(chromedp.ID("account"), account),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
	return b
}

// searchTree types keys into the tree page's search box and waits until the list shows the
// results of what the box then holds.
func searchTree(t *testing.T, b *browser, keys string) {
	t.Helper()
	b.do(t, "search "+keys, chromedp.SendKeys(chromedp.ID("search"), keys))
	q := strings.TrimSpace(evalIn[string](t, b, `document.getElementById('search').value`))
	b.do(t, "the results of "+q, chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`#tree-status[data-search=%q]`, q))))
}
