package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// The hostile-tenant suite (hostile_*_test.go) is a set of tables, one row per attack by a
// caller without admin rights. Every row names the rule of docs/security.md it attacks,
// asserts the exact status a kube-apiserver would answer, that no response carries data of an
// account the caller may not read, and, re-reading with admin credentials, that nothing
// changed.

// actor is one identity's raw HTTP access: a client certificate, a bearer token or nothing.
type actor struct {
	name   string
	b      *battery
	header http.Header
}

// certActor is user in groups, authenticated with a client certificate of the server's CA.
func certActor(t *testing.T, user string, groups ...string) *actor {
	t.Helper()
	return &actor{name: user, b: newBattery(t, userConfig(t, "root", user, groups...))}
}

// tokenActor presents a bearer token and no client certificate.
func tokenActor(t *testing.T, name, token string) *actor {
	t.Helper()
	return &actor{name: name, b: newBattery(t, rest.AnonymousClientConfig(server.Config)), header: http.Header{"Authorization": {"Bearer " + token}}}
}

// anonymousActor presents no credentials.
func anonymousActor(t *testing.T) *actor {
	t.Helper()
	return &actor{name: "anonymous", b: newBattery(t, rest.AnonymousClientConfig(server.Config))}
}

func (a *actor) do(t *testing.T, method, path string, header http.Header, body string) (int, string) {
	t.Helper()
	h := http.Header{}
	for k, v := range a.header {
		h[k] = v
	}
	for k, v := range header {
		h[k] = v
	}
	a.b.t = t
	return a.b.do(method, path, h, body)
}

// Content types of the patch verbs.
var (
	mergePatch     = http.Header{"Content-Type": {"application/merge-patch+json"}}
	jsonPatch      = http.Header{"Content-Type": {"application/json-patch+json"}}
	strategicPatch = http.Header{"Content-Type": {"application/strategic-merge-patch+json"}}
	applyPatch     = http.Header{"Content-Type": {"application/apply-patch+yaml"}}
)

// attack is one row of a hostile table.
type attack struct {
	// name is short; the comment above each row names the rule it attacks.
	name   string
	as     *actor
	method string // GET when empty
	path   string
	header http.Header
	body   string
	// want is the exact status code; alsoOK are other acceptable answers, for attacks that a
	// server may refuse or accept without effect (checked by check and after).
	want   int
	alsoOK []int
	// absent, when set, is a request for something that does not exist (an account, object,
	// export or type) that must be answered exactly like path: same status, and the same body
	// once absentName is replaced by presentName.
	absent                  string
	absentName, presentName string
	// check adds assertions on the response, e.g. that a 200 holds only the caller's objects.
	check func(t *testing.T, body string)
	// echoes are strings the response may repeat because the request carried them (encoded).
	echoes []string
	// mutates marks attacks that are accepted but must have no effect beyond their own
	// object (checked by after): the snapshot is not compared.
	mutates bool
	// after adds assertions, as an admin, that the attack had no effect beyond the snapshot.
	after func(t *testing.T)
}

// hostileTable runs attacks one after the other. watched are the accounts whose content must not
// change (compared as an admin before and after every row); foreign are strings (cluster IDs,
// markers) that no response may contain unless the request itself did.
func hostileTable(t *testing.T, attacks []attack, watched []*framework.Account, foreign []string) {
	t.Helper()
	names := map[string]bool{}
	for _, a := range attacks {
		require.False(t, names[a.name], "duplicate attack %q", a.name)
		names[a.name] = true
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			before := snapshot(t, watched...)
			method := a.method
			if method == "" {
				method = http.MethodGet
			}
			code, body := a.as.do(t, method, a.path, a.header, a.body)
			t.Logf("%s %s %s → %d", a.as.name, method, a.path, code)
			if !slices.Contains(a.alsoOK, code) {
				require.Equal(t, a.want, code, "%s %s as %s: %s", method, a.path, a.as.name, body)
			}
			for _, f := range foreign {
				if !strings.Contains(a.path, f) && !strings.Contains(a.body, f) && !slices.Contains(a.echoes, f) {
					require.NotContains(t, body, f, "%s %s leaked %s", method, a.path, f)
				}
			}
			if a.absent != "" {
				code2, body2 := a.as.do(t, method, a.absent, a.header, strings.ReplaceAll(a.body, a.presentName, a.absentName))
				require.Equal(t, code, code2, "absent %s: %s", a.absent, body2)
				require.Equal(t, body, strings.ReplaceAll(body2, a.absentName, a.presentName), "absent and forbidden must read alike")
			}
			if a.check != nil {
				a.check(t, body)
			}
			if !a.mutates {
				require.Equal(t, before, snapshot(t, watched...), "the attack changed something")
			}
			if a.after != nil {
				a.after(t)
			}
		})
	}
}

// snapshotResources are what snapshot reads in every account.
var snapshotResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "secrets"},
	{Version: "v1", Resource: "serviceaccounts"},
	{Version: "v1", Resource: "namespaces"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	framework.AccountsGVR,
	{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accounttypes"},
	{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apiexports"},
	{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apibindings"},
}

// snapshot lists, as an admin, every object of snapshotResources in the accounts with its
// resourceVersion: any write shows.
func snapshot(t *testing.T, accs ...*framework.Account) []string {
	t.Helper()
	var (
		mu   sync.Mutex
		out  []string
		errs []error
		wg   sync.WaitGroup
	)
	for _, acc := range accs {
		cfg := rest.CopyConfig(acc.Config)
		cfg.QPS = -1 // no client-side rate limit: a snapshot is dozens of lists
		d, err := dynamic.NewForConfig(cfg)
		require.NoError(t, err)
		for _, gvr := range snapshotResources {
			wg.Go(func() {
				list, err := d.Resource(gvr).List(t.Context(), metav1.ListOptions{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("list %s in %s: %w", gvr.Resource, acc.Path, err))
					return
				}
				for _, o := range list.Items {
					out = append(out, fmt.Sprintf("%s %s %s/%s@%s", acc.Path, gvr.Resource, o.GetNamespace(), o.GetName(), o.GetResourceVersion()))
				}
			})
		}
	}
	wg.Wait()
	require.Empty(t, errs)
	slices.Sort(out)
	return out
}

// serviceAccountToken creates ServiceAccount default/name in acc (unless it exists) and returns
// a token of it from the TokenRequest API.
func serviceAccountToken(t *testing.T, acc *framework.Account, name string) string {
	t.Helper()
	ctx := t.Context()
	_, err := acc.Kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		_, getErr := acc.Kube.CoreV1().ServiceAccounts("default").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, getErr, "create: %v", err)
	}
	tr, err := acc.Kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	return tr.Status.Token
}

// eventuallyAllowed waits until the actor's request gets 200: a grant it relies on has reached
// the authorizer, so that later denials are the policy's and not a delay's.
func eventuallyAllowed(t *testing.T, a *actor, path string) {
	t.Helper()
	var code int
	var body string
	framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
		code, body = a.do(t, http.MethodGet, path, nil, "")
		return code == http.StatusOK, nil
	}, "%s never got 200 for %s: %d %s", a.name, path, func() int { return code }(), func() string { return body }())
}

// listNames decodes a list body and returns its items' namespace/name.
func listNames(t *testing.T, body string) []string {
	t.Helper()
	var list struct {
		Items []metav1.PartialObjectMetadata `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list), body)
	names := make([]string, 0, len(list.Items))
	for _, i := range list.Items {
		names = append(names, i.Namespace+"/"+i.Name)
	}
	slices.Sort(names)
	return names
}

// onlyOwn returns a check that a list body holds exactly the objects want (namespace/name).
func onlyOwn(want ...string) func(t *testing.T, body string) {
	return func(t *testing.T, body string) {
		t.Helper()
		slices.Sort(want)
		if want == nil {
			want = []string{}
		}
		require.Equal(t, want, listNames(t, body))
	}
}

// readyAfter checks that the server still answers, for attacks that try to exhaust it.
func readyAfter(t *testing.T) {
	t.Helper()
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		body, err := kubeClient(t, server.Config).Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	}, "the server is not ready after the attack")
}
