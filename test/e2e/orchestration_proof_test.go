package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/accountmesh/accountmesh/sdk/provider"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// widgetSchemaYAML is the APIResourceSchema v1.widgets.<group>: namespaced Widgets with a
// status subresource, shaped like dbSchemaYAML's Databases.
func widgetSchemaYAML(group string) string {
	return strings.NewReplacer("databases", "widgets", "database", "widget", "Database", "Widget", "shortNames: [db], ", "").
		Replace(dbSchemaYAML("v1", group, ""))
}

// runWidgetProvider is the second provider of the proof, a small controller over the Widgets
// of an account: a Widget is Ready once provider.DependenciesReady says the members it depends
// on are, and waits (Ready=False, WaitingForDependencies) until then. It runs until the test
// ends.
func runWidgetProvider(t *testing.T, d dynamic.Interface, gvr schema.GroupVersionResource) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	widgets := d.Resource(gvr).Namespace("default")
	reconcile := func(obj *unstructured.Unstructured) {
		status, reason := metav1.ConditionTrue, "Provisioned"
		if !provider.DependenciesReady(obj) {
			status, reason = metav1.ConditionFalse, "WaitingForDependencies"
		}
		var conditions []metav1.Condition
		raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, c := range raw {
			var cond metav1.Condition
			if m, ok := c.(map[string]any); ok && runtime.DefaultUnstructuredConverter.FromUnstructured(m, &cond) == nil {
				conditions = append(conditions, cond)
			}
		}
		if c := meta.FindStatusCondition(conditions, "Ready"); c != nil && c.Status == status && c.Reason == reason {
			return
		}
		meta.SetStatusCondition(&conditions, metav1.Condition{Type: "Ready", Status: status, Reason: reason, Message: "widget " + strings.ToLower(reason)})
		out := make([]any, 0, len(conditions))
		for i := range conditions {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&conditions[i])
			if err != nil {
				return
			}
			out = append(out, m)
		}
		if err := unstructured.SetNestedSlice(obj.Object, out, "status", "conditions"); err != nil {
			return
		}
		// A conflict brings the newer Widget as the next event.
		_, _ = widgets.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			w, err := widgets.Watch(ctx, metav1.ListOptions{})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for e := range w.ResultChan() {
				if obj, ok := e.Object.(*unstructured.Unstructured); ok && obj.GetDeletionTimestamp() == nil {
					reconcile(obj)
				}
			}
		}
	}()
}

// TestOrchestrationProof is the proof of issue 17. In an organisation with the accounts data
// and app, a context in app groups the Database "orders" bound in data from the example
// provider (a separate process), a Widget in app bound from a second provider (an in-test
// controller that honours the dependency gate) and a ConfigMap, the Widget depending on the
// Database. A user without access to data cannot create it. The status goes Progressing while
// the Database waits for its claim to be accepted and the Widget waits for the Database, Ready
// once the Database is and the Widget's provider proceeds, Degraded when the ConfigMap breaks,
// Ready again once fixed; with the Delete policy, deleting the context removes the members in
// reverse dependency order: the Database only once the Widget is gone.
func TestOrchestrationProof(t *testing.T) {
	t.Parallel()
	example := filepath.Join(framework.RepoRoot(), "sdk", "examples", "database")
	org := server.NewAccount(t, "root")
	data, app := server.CreateAccount(t, org.Path, "data"), server.CreateAccount(t, org.Path, "app")

	// The Database provider: the example, as a process with alice's token.
	dbProv, _ := startDatabaseProvider(t, "export-claims.yaml")
	dbBinding, err := os.ReadFile(filepath.Join(example, "consumer", "binding-claims.yaml"))
	require.NoError(t, err)
	bindDatabases := func(state string) {
		t.Helper()
		y := strings.ReplaceAll(string(dbBinding), `"root:prov"`, `"`+dbProv.Path+`"`)
		framework.KubectlStdin(t, data.Kubeconfig, strings.ReplaceAll(y, "state: Accepted", "state: "+state), "apply", "-f", "-")
	}
	// The claim on connection Secrets is rejected at first: the Database is not ready.
	bindDatabases("Rejected")
	framework.Kubectl(t, data.Kubeconfig, "wait", "apibinding/db", "--for=jsonpath={.status.phase}=Bound", "--timeout=60s")
	framework.Kubectl(t, data.Kubeconfig, "create", "-f", filepath.Join(example, "consumer", "database.yaml"))

	// The Widget provider: another export, bound in app.
	widgetGroup := randomGroup()
	widgetProv := server.NewAccount(t, "root")
	kubectlApply(t, widgetProv.Kubeconfig, widgetSchemaYAML(widgetGroup))
	kubectlApply(t, widgetProv.Kubeconfig, strings.NewReplacer("databases", "widgets", "Databases", "Widgets").
		Replace(dbExportYAML("widgets", widgetGroup, "v1.widgets."+widgetGroup, "")))
	framework.Kubectl(t, widgetProv.Kubeconfig, "wait", "apiexport/widgets", "--for=condition=Ready")
	framework.KubectlStdin(t, app.Kubeconfig, bindingYAML("widgets", widgetProv.Path, "widgets"), "create", "-f", "-")
	framework.Kubectl(t, app.Kubeconfig, "wait", "apibinding/widgets", "--for=jsonpath={.status.phase}=Bound", "--timeout=60s")
	kubectlEventuallyStdin(t, app.Kubeconfig, "apiVersion: "+widgetGroup+"/v1\nkind: Widget\nmetadata: {name: web, namespace: default}\nspec: {size: S}\n", "create", "-f", "-")
	runWidgetProvider(t, app.Dynamic, schema.GroupVersionResource{Group: widgetGroup, Version: "v1", Resource: "widgets"})
	framework.Kubectl(t, app.Kubeconfig, "create", "configmap", "settings", "--from-literal=ready=true")

	// carol runs the composite service: she may read and delete the Database in data and
	// the Widget in app, and patch the Widget (its gate). dave edits app only.
	carol, dave := framework.RandomName("carol-"), framework.RandomName("dave-")
	framework.Kubectl(t, data.Kubeconfig, "create", "clusterrole", "db-owner", "--verb=get,watch,delete", "--resource=databases.db.example.com")
	grantRole(t, data, "db-owner", "--user="+carol, false)
	framework.Kubectl(t, app.Kubeconfig, "create", "clusterrole", "widget-owner", "--verb=get,list,watch,patch,delete", "--resource=widgets."+widgetGroup)
	for _, u := range []string{carol, dave} {
		grantRole(t, app, "edit", "--user="+u, false)
		grantRole(t, app, "widget-owner", "--user="+u, false)
	}
	members := []memberYAML{
		{name: "db", account: data.Path, apiVersion: "db.example.com/v1", kind: "Database", namespace: "default", object: "orders"},
		{name: "web", apiVersion: widgetGroup + "/v1", kind: "Widget", namespace: "default", object: "web", dependsOn: []string{"db"}},
		{name: "settings", apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "settings", readiness: "self.data.ready == 'true'"},
	}
	composite := contextWithPolicyYAML("shop", "Delete", members...)
	carolKC, daveKC := userKubeconfig(t, app.Path, carol), userKubeconfig(t, app.Path, dave)
	kubectlEventually(t, daveKC, "get", "orchestrationcontexts")
	out := framework.KubectlFails(t, daveKC, composite, "create", "-f", "-")
	require.Contains(t, out, `may not get, watch and delete spec.members[0] ("db")`)
	require.NotContains(t, out, data.ClusterID)

	// Progressing: the Database waits for its claim, the Widget for the Database.
	kubectlEventuallyStdin(t, carolKC, composite, "create", "-f", "-")
	eventuallyContext(t, carolKC, "shop", conditionPath("Progressing"), "True")
	eventuallyContext(t, carolKC, "shop", memberField("web", "waitingFor[*]"), "db")
	require.Equal(t, "False", contextField(t, carolKC, "shop", conditionPath("Ready")))
	framework.Kubectl(t, app.Kubeconfig, "wait", "widget/web", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=WaitingForDependencies", "--timeout=60s")
	require.Equal(t, "false", framework.Kubectl(t, app.Kubeconfig, "get", "widget/web", "-o", gatePath))

	// The claim accepted, the Database becomes Ready; the Widget's provider proceeds; Ready.
	bindDatabases("Accepted")
	eventuallyContext(t, carolKC, "shop", conditionPath("Ready"), "True")
	require.Equal(t, "Provisioned", framework.Kubectl(t, app.Kubeconfig, "get", "widget/web", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`))
	require.Equal(t, "3/3 ready", contextField(t, carolKC, "shop", "{.status.summary}"))
	require.Equal(t, "False", contextField(t, carolKC, "shop", conditionPath("Progressing")))

	// A member breaks: Degraded, naming it; fixed: Ready again.
	framework.Kubectl(t, app.Kubeconfig, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"ready":"false"}}`)
	eventuallyContext(t, carolKC, "shop", conditionPath("Degraded"), "True")
	require.Equal(t, "no longer ready: settings", contextField(t, carolKC, "shop", `{.status.conditions[?(@.type=="Degraded")].message}`))
	framework.Kubectl(t, app.Kubeconfig, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"ready":"true"}}`)
	eventuallyContext(t, carolKC, "shop", conditionPath("Ready"), "True")
	require.Equal(t, "False", contextField(t, carolKC, "shop", conditionPath("Degraded")))

	// Deleted: the Widget (held a while by a finalizer) and the ConfigMap go first; the
	// Database waits until the Widget is gone, then the context goes.
	framework.Kubectl(t, app.Kubeconfig, "patch", "widget/web", "--type=merge", "-p", `{"metadata":{"finalizers":["e2e.example.com/hold"]}}`)
	framework.Kubectl(t, carolKC, "delete", "orchestrationcontext", "shop", "--wait=false")
	eventuallyContext(t, carolKC, "shop", `{.status.conditions[?(@.type=="Deleting")].message}`,
		"deleting: web; waiting for their dependents: db (for web)")
	_, _, err = framework.KubectlResult(t, app.Kubeconfig, "", "get", "configmap", "settings")
	require.Error(t, err, "the ConfigMap, on which nothing depends, was not deleted")
	require.Empty(t, framework.Kubectl(t, data.Kubeconfig, "get", "database/orders", "-o", "jsonpath={.metadata.deletionTimestamp}"),
		"the Database was deleted before the Widget that depends on it")
	framework.Kubectl(t, app.Kubeconfig, "patch", "widget/web", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	framework.Eventually(t, time.Minute, func(context.Context) (bool, error) {
		dbs := framework.Kubectl(t, data.Kubeconfig, "get", "databases", "-o", "name")
		contexts := framework.Kubectl(t, app.Kubeconfig, "get", "orchestrationcontexts", "-o", "name")
		return dbs == "" && contexts == "", nil
	}, "the Database and the context were not deleted")
}
