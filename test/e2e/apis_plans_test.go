package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// plansCatalogYAML is an export's catalog with the plans basic (the default) and pro.
const plansCatalogYAML = `  catalog:
    displayName: Databases
    categories: [data]
    plans:
    - {name: basic, displayName: Basic, description: One small instance., default: true}
    - {name: pro, displayName: Pro, description: Replicated.}
`

// plannedExportYAML is dbExportYAML of <group>/databases with the catalog of
// plansCatalogYAML, and the extra spec lines.
func plannedExportYAML(name, group, extra string) string {
	plain := dbExportYAML(name, group, "v1.databases."+group, extra)
	return strings.Replace(plain, "  catalog: {displayName: Databases, description: Managed databases., categories: [data]}\n", plansCatalogYAML, 1)
}

// publishPlanned publishes the export name of databases in group with plans and waits for it
// to be ready.
func publishPlanned(t *testing.T, provider *framework.Account, name, group, extra string) {
	t.Helper()
	publishDatabases(t, provider, name, group, "")
	kubectlApply(t, provider.Kubeconfig, plannedExportYAML(name, group, extra))
	waitExportPlans(t, provider, name)
}

// waitExportPlans waits until the export's Ready condition has seen its latest spec, so that
// the server's cache, which admission reads the plans from, has it too.
func waitExportPlans(t *testing.T, provider *framework.Account, name string) {
	t.Helper()
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, provider.Kubeconfig, "", "get", "apiexport", name, "-o",
			`jsonpath={.metadata.generation} {.status.conditions[?(@.type=="Ready")].observedGeneration} {.status.conditions[?(@.type=="Ready")].status}`)
		f := strings.Fields(out)
		return err == nil && len(f) == 3 && f[0] == f[1] && f[2] == "True", nil
	}, "APIExport %s did not become Ready with its plans", name)
}

// plannedBindingYAML is bindingYAML with a plan.
func plannedBindingYAML(name, path, export, plan string) string {
	return bindingYAML(name, path, export) + "  plan: " + plan + "\n"
}

// TestAPIsPlans: an export offers plans; they are validated; a binding gets the default plan
// when it names none, an unknown plan is refused listing the plans, a plan of an export without
// plans is refused; the plan shows in the binding's status and in the provider view, and a
// change of plan reaches the provider as an update of the binding.
func TestAPIsPlans(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	p := server.NewAccount(t, "root")
	c := server.NewAccount(t, "root")
	publishPlanned(t, p, "db", group, "")
	publishDatabases(t, p, "plain", group, "")

	// Bad plans: two defaults, a duplicate, a bad name. Nothing changes.
	for _, bad := range []struct{ plans, want string }{
		{`[{"name":"a","default":true},{"name":"b","default":true}]`, `spec.catalog.plans[1].default: Invalid value: true: plan "a" is already the default`},
		{`[{"name":"a"},{"name":"a"}]`, `spec.catalog.plans[1].name: Duplicate value: "a"`},
		{`[{"name":"Gold"}]`, `spec.catalog.plans[0].name: Invalid value: "Gold"`},
	} {
		out := framework.KubectlFails(t, p.Kubeconfig, "", "patch", "apiexport", "db", "--type=merge", "-p",
			`{"spec":{"catalog":{"plans":`+bad.plans+`}}}`)
		require.Contains(t, out, bad.want)
	}
	require.Equal(t, "basic pro", framework.Kubectl(t, p.Kubeconfig, "get", "apiexport", "db", "-o", "jsonpath={.spec.catalog.plans[*].name}"))

	// An unknown plan: 422 listing the plans. A plan of an export without plans: 422.
	out := framework.KubectlFails(t, c.Kubeconfig, plannedBindingYAML("gold", p.Path, "db", "gold"), "create", "-f", "-")
	require.Contains(t, out, `spec.plan: Unsupported value: "gold": supported values: "basic", "pro"`)
	out = framework.KubectlFails(t, c.Kubeconfig, plannedBindingYAML("plain", p.Path, "plain", "basic"), "create", "-f", "-")
	require.Contains(t, out, `APIExport "plain" offers no plans`)
	_, _, err := framework.KubectlResult(t, c.Kubeconfig, "", "get", "apibinding", "gold")
	require.Error(t, err, "a refused binding is not stored")

	// No plan: the default, pinned in spec and in effect in status.
	bind(t, c, "db", p.Path, "db")
	require.Equal(t, "basic basic", framework.Kubectl(t, c.Kubeconfig, "get", "apibinding", "db", "-o", "jsonpath={.spec.plan} {.status.plan}"))
	_, rows := kubectlTable(t, framework.Kubectl(t, c.Kubeconfig, "get", "apibindings", "-o", "wide"))
	require.Equal(t, "basic", rows[0]["PLAN"])

	// The provider watches its bindings through the view and sees the change of plan.
	view := server.ConfigFor("root")
	view.Host = strings.TrimSuffix(view.Host, "/clusters/root") + "/services/export/" + p.Path + "/db/clusters/" + c.ClusterID
	bindings := dynamicClient(t, view).Resource(schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apibindings"})
	list, err := bindings.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	plan, _, _ := unstructured.NestedString(list.Items[0].Object, "status", "plan")
	require.Equal(t, "basic", plan)
	w, err := bindings.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	require.NoError(t, err)
	defer w.Stop()

	require.Contains(t, framework.KubectlFails(t, c.Kubeconfig, "", "patch", "apibinding", "db", "--type=merge", "-p", `{"spec":{"plan":"gold"}}`),
		`supported values: "basic", "pro"`)
	framework.Kubectl(t, c.Kubeconfig, "patch", "apibinding", "db", "--type=merge", "-p", `{"spec":{"plan":"pro"}}`)
	deadline := time.After(bindTimeout)
	for seen := false; !seen; {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the view's watch ended")
			if ev.Type != watch.Modified {
				continue
			}
			u := ev.Object.(*unstructured.Unstructured)
			plan, _, _ := unstructured.NestedString(u.Object, "status", "plan")
			seen = plan == "pro"
		case <-deadline:
			t.Fatal("the provider never saw the binding's plan change to pro")
		}
	}
}
