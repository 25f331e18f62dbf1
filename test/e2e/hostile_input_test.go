package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileInput sends oversized, deeply nested, malformed and invalid input that
// TestBadInputRequests does not, as mia, a local admin: each gets a 4xx Status, nothing is
// stored, and the server stays ready.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	mia := framework.RandomName("mia-")
	grantRole(t, a, "admin", "--user="+mia, false)
	framework.Kubectl(t, a.Kubeconfig, "create", "configmap", "existing", "-n", "default", "--from-literal=k=v")
	m := certActor(t, mia)
	in := "/clusters/" + a.Path
	cms := in + "/api/v1/namespaces/default/configmaps"
	accounts := in + "/apis/core.accountmesh.io/v1alpha1/accounts"
	eventuallyAllowed(t, m, cms)

	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	huge := strings.Repeat("x", 4*1024*1024)
	yamlBomb := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  namespace: default\n" +
		"x: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" +
		"y: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
		"v: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nu: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ns: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n" +
		"data: {k: v}\n"
	yaml := http.Header{"Content-Type": {"application/yaml"}}
	cm := func(name, extra string) string {
		return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"` + extra + `}}`
	}
	account := func(name string) string {
		return `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"` + name + `"}}`
	}
	ready := func(t *testing.T) { t.Helper(); readyAfter(t) }

	hostileTable(t, []attack{
		// R10: JSON nested deeper than the decoder's limit.
		{name: "deeply nested JSON", as: m, method: http.MethodPost, path: cms, body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":` + deep + `}`, want: 400, after: ready},
		// R10: deeply nested JSON in a patch.
		{name: "deeply nested merge patch", as: m, method: http.MethodPatch, path: cms + "/existing", header: mergePatch, body: `{"data":` + deep + `}`, want: 400, after: ready},
		// R10: a body over the request limit, for an Account.
		{name: "oversized Account", as: m, method: http.MethodPost, path: accounts,
			body: `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"Account","metadata":{"name":"big"},"spec":{"description":"` + huge + `"}}`, want: 413},
		// R10: a patch body over the request limit.
		{name: "oversized JSON patch", as: m, method: http.MethodPatch, path: cms + "/existing", header: jsonPatch,
			body: `[{"op":"add","path":"/data/big","value":"` + huge + `"}]`, want: 413},
		// R10: annotations over their total limit (256 KiB).
		{name: "oversized annotations", as: m, method: http.MethodPost, path: cms, body: cm("annotated", `,"annotations":{"x":"`+strings.Repeat("y", 300*1024)+`"}`), want: 422},
		// R10: malformed YAML sent as YAML.
		{name: "malformed YAML body", as: m, method: http.MethodPost, path: cms, header: yaml, body: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [broken\n", want: 400},
		// R10: a YAML alias bomb.
		{name: "YAML alias bomb", as: m, method: http.MethodPost, path: cms, header: yaml, body: yamlBomb, want: 400, after: ready},
		// R10: a body that is not the declared protobuf.
		{name: "garbage protobuf", as: m, method: http.MethodPost, path: cms, header: http.Header{"Content-Type": {"application/vnd.kubernetes.protobuf"}}, body: "k8s\x00garbage", want: 400},
		// R10: an unsupported content type.
		{name: "unsupported content type", as: m, method: http.MethodPost, path: cms, header: http.Header{"Content-Type": {"text/html"}}, body: cm("html", ""), want: 415},
		// R10: duplicate fields under strict validation.
		{name: "duplicate fields, strict", as: m, method: http.MethodPost, path: cms + "?fieldValidation=Strict", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"}}`, want: 400},
		// R1, R10: an Account name with the path separator.
		{name: "Account name with a colon", as: m, method: http.MethodPost, path: accounts, body: account("x:y"), want: 422},
		// R1, R10: an Account named like the wildcard.
		{name: "Account named *", as: m, method: http.MethodPost, path: accounts, body: account("*"), want: 422},
		// R1, R10: an Account named like a cluster ID segment with a slash.
		{name: "Account name with a slash", as: m, method: http.MethodPost, path: accounts, body: account("a/b"), want: 422},
		// R10: a namespace named like the wildcard.
		{name: "namespace named *", as: m, method: http.MethodPost, path: in + "/api/v1/namespaces", body: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"*"}}`, want: 422},
		// R10: an object name with dot segments.
		{name: "object name with dot-dot", as: m, method: http.MethodPost, path: cms, body: cm("../x", ""), want: 422},
		// R10: a NUL byte in a name.
		{name: "object name with NUL", as: m, method: http.MethodPost, path: cms, body: cm(`a\u0000b`, ""), want: 422},
		// R10: a body naming another namespace than the URL.
		{name: "namespace mismatch", as: m, method: http.MethodPost, path: cms, body: cm("elsewhere", `,"namespace":"kube-system"`), want: 400},
	}, []*framework.Account{a}, nil)
}
