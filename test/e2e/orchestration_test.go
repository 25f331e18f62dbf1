package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// orchestrationTimeout bounds how long a member change takes to show in a context's status.
// Contexts are looked at again without events only every ten minutes, so a change seen within
// it came through the watch.
const orchestrationTimeout = 30 * time.Second

// componentCRD is a namespaced CRD in group whose status holds anything (conditions, phase), and
// whose spec holds a note.
func componentCRD(group string) string {
	return crdYAML(group, "components", "{plural: components, singular: component, kind: Component}", "", `    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              note: {type: string}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`)
}

// applyComponentCRD applies componentCRD in an account, waits until it is Established and
// defines the ClusterRole component-reader there.
func applyComponentCRD(t *testing.T, a *framework.Account, group string) {
	t.Helper()
	framework.KubectlStdin(t, a.Kubeconfig, componentCRD(group), "apply", "-f", "-")
	waitEstablished(t, a.Kubeconfig, "components."+group)
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrole", "component-reader", "--verb=get,list,watch", "--resource=components."+group)
}

// componentAccounts makes two accounts that serve components of a new group, where users edit
// the first and read its components, and returns them and the group.
func componentAccounts(t *testing.T, users ...string) (*framework.Account, *framework.Account, string) {
	t.Helper()
	a, b := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	group := randomGroup()
	applyComponentCRD(t, a, group)
	applyComponentCRD(t, b, group)
	for _, u := range users {
		grantRole(t, a, "edit", "--user="+u, false)
		grantRole(t, a, "component-reader", "--user="+u, false)
	}
	return a, b, group
}

func componentYAML(group, name, note string) string {
	return fmt.Sprintf("apiVersion: %s/v1\nkind: Component\nmetadata: {name: %s, namespace: default}\nspec: {note: %q}\n", group, name, note)
}

// setComponentReady sets the Ready condition of a component's status.
func setComponentReady(t *testing.T, a *framework.Account, name, status, message string) {
	t.Helper()
	framework.Kubectl(t, a.Kubeconfig, "patch", "components", name, "--subresource=status", "--type=merge", "-p",
		fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":%q,"message":%q}]}}`, status, message))
}

// memberYAML is one member of a context.
type memberYAML struct {
	name, account, apiVersion, kind, namespace, object, readiness string
	dependsOn                                                     []string
}

// contextYAML is an OrchestrationContext in namespace default.
func contextYAML(name string, members ...memberYAML) string {
	return contextWithPolicyYAML(name, "", members...)
}

// contextWithPolicyYAML is an OrchestrationContext in namespace default with a deletion policy.
func contextWithPolicyYAML(name, policy string, members ...memberYAML) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: orchestration.accountmesh.io/v1alpha1\nkind: OrchestrationContext\nmetadata: {name: %s, namespace: default}\nspec:\n", name)
	if policy != "" {
		fmt.Fprintf(&b, "  deletionPolicy: %s\n", policy)
	}
	b.WriteString("  members:\n")
	for _, m := range members {
		fmt.Fprintf(&b, "  - name: %s\n    ref: {account: %q, apiVersion: %q, kind: %s, namespace: %q, name: %s}\n", m.name, m.account, m.apiVersion, m.kind, m.namespace, m.object)
		if len(m.dependsOn) > 0 {
			fmt.Fprintf(&b, "    dependsOn: [%s]\n", strings.Join(m.dependsOn, ", "))
		}
		if m.readiness != "" {
			fmt.Fprintf(&b, "    readiness: %q\n", m.readiness)
		}
	}
	return b.String()
}

// contextField reads a JSONPath of a context.
func contextField(t *testing.T, kubeconfig, name, jsonPath string) string {
	t.Helper()
	out, errOut, err := framework.KubectlResult(t, kubeconfig, "", "get", "orchestrationcontext", name, "-o", "jsonpath="+jsonPath)
	if err != nil {
		return "error: " + errOut
	}
	return out
}

// eventuallyContext waits until a JSONPath of a context reads want.
func eventuallyContext(t *testing.T, kubeconfig, name, jsonPath, want string) {
	t.Helper()
	var got string
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		got = contextField(t, kubeconfig, name, jsonPath)
		return got == want, nil
	}, "context %s %s: want %q, got %s", name, jsonPath, want, lazy(func() string { return got }))
}

// lazy is a message argument computed when the message is written: after polling, not
// before.
type lazy func() string

func (l lazy) String() string { return l() }

// conditionPath is the JSONPath of a condition's status.
func conditionPath(t string) string { return `{.status.conditions[?(@.type=="` + t + `")].status}` }

// memberField is the JSONPath of a field of a member's status.
func memberField(member, field string) string {
	return `{.status.members[?(@.name=="` + member + `")].` + field + `}`
}

// gatePath is the JSONPath of a member's dependency gate.
const gatePath = `jsonpath={.metadata.annotations.orchestration\.accountmesh\.io/dependencies-ready}`

// eventuallyGate waits until a component's dependency gate reads want.
func eventuallyGate(t *testing.T, a *framework.Account, name, want string) {
	t.Helper()
	var got string
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		got = framework.Kubectl(t, a.Kubeconfig, "get", "components", name, "-o", gatePath)
		return got == want, nil
	}, "component %s: dependency gate %s, want %q", name, lazy(func() string { return got }), want)
}

// requireNoGate requires that a component has no dependency gate.
func requireNoGate(t *testing.T, a *framework.Account, name string) {
	t.Helper()
	require.Empty(t, framework.Kubectl(t, a.Kubeconfig, "get", "components", name, "-o", gatePath))
}

// TestOrchestrationContext groups a ConfigMap and a Component of one account with a Component of a
// sibling account that the creator may read: the status goes Progressing, Ready when every
// member is, Degraded when a ready member breaks and Ready again, each change seen through the
// watch; kubectl shows READY N/M. The member that depends on another gets its dependency gate
// annotation, following the other's readiness. A user who may not read the sibling's Component cannot create
// the context, with the same 403, naming only the member, as for an account that does not
// exist; a cycle is refused with 422 naming it; once the creator's access is revoked, the
// member shows Unauthorized.
func TestOrchestrationContext(t *testing.T) {
	t.Parallel()
	alice, bob := framework.RandomName("alice-"), framework.RandomName("bob-")
	app, data, group := componentAccounts(t, alice, bob)
	// alice may also patch the component in her account, so the context publishes its
	// dependency gate there.
	framework.Kubectl(t, app.Kubeconfig, "create", "clusterrole", "component-patcher", "--verb=patch", "--resource=components."+group)
	grantRole(t, app, "component-patcher", "--user="+alice, false)
	readData := framework.RandomName("grant-")
	framework.Kubectl(t, data.Kubeconfig, "create", "clusterrolebinding", readData, "--clusterrole=component-reader", "--user="+alice)

	framework.Kubectl(t, app.Kubeconfig, "create", "configmap", "settings", "--from-literal=ready=true")
	framework.KubectlStdin(t, app.Kubeconfig, componentYAML(group, "front", "front-spec"), "create", "-f", "-")
	framework.KubectlStdin(t, data.Kubeconfig, componentYAML(group, "db", "db-spec"), "create", "-f", "-")

	members := []memberYAML{
		{name: "settings", apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "settings", readiness: "self.data.ready == 'true'"},
		{name: "front", apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "front",
			readiness: "has(self.status) && has(self.status.up) && self.status.up", dependsOn: []string{"db"}},
		{name: "db", account: data.Path, apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "db"},
	}
	aliceKC, bobKC := userKubeconfig(t, app.Path, alice), userKubeconfig(t, app.Path, bob)
	kubectlEventually(t, bobKC, "get", "orchestrationcontexts")
	kubectlEventually(t, aliceKC, "get", "orchestrationcontexts")

	// bob may not read the sibling's component: 403 naming only the entry, the same as for an
	// account that does not exist.
	out := framework.KubectlFails(t, bobKC, contextYAML("app", members...), "create", "-f", "-")
	require.Contains(t, out, `is forbidden: user "`+bob+`" may not get and watch spec.members[2] ("db")`)
	missing := "root:" + framework.RandomName("absent-")
	absent := append([]memberYAML(nil), members...)
	absent[2].account = missing
	out2 := framework.KubectlFails(t, bobKC, contextYAML("app", absent...), "create", "-f", "-")
	require.Equal(t, out, out2, "a missing account must look like a forbidden member")
	require.NotContains(t, out, data.Path)
	require.NotContains(t, out, data.ClusterID)

	// A cycle is refused, naming it.
	cycle := append([]memberYAML(nil), members...)
	cycle[2].dependsOn = []string{"front"}
	out = framework.KubectlFails(t, aliceKC, contextYAML("app", cycle...), "create", "-f", "-")
	require.Contains(t, out, "front -> db -> front")
	require.Contains(t, out, "is invalid")
	require.Empty(t, framework.Kubectl(t, app.Kubeconfig, "get", "orchestrationcontexts", "-o", "name"), "nothing was stored")

	// alice may read every member: the context is created and progresses.
	kubectlEventuallyStdin(t, aliceKC, contextYAML("app", members...), "create", "-f", "-")
	eventuallyContext(t, aliceKC, "app", conditionPath("Progressing"), "True")
	eventuallyContext(t, aliceKC, "app", "{.status.summary}", "1/3 ready")
	require.Equal(t, "False", contextField(t, aliceKC, "app", conditionPath("Ready")))
	require.Equal(t, "db", contextField(t, aliceKC, "app", memberField("front", "waitingFor[*]")))
	require.Equal(t, data.Path, contextField(t, aliceKC, "app", memberField("db", "account")))
	// front waits for db: its gate is closed; db, which depends on nothing, has none.
	eventuallyGate(t, app, "front", "false")
	requireNoGate(t, data, "db")

	// Every member ready: Ready, and kubectl shows 3/3.
	setComponentReady(t, data, "db", "True", "db is up")
	eventuallyContext(t, aliceKC, "app", memberField("db", "reason"), "Ready")
	require.Equal(t, "db is up", contextField(t, aliceKC, "app", memberField("db", "message")))
	require.Empty(t, contextField(t, aliceKC, "app", memberField("front", "waitingFor")))
	eventuallyGate(t, app, "front", "true")
	framework.Kubectl(t, app.Kubeconfig, "patch", "components", "front", "--subresource=status", "--type=merge", "-p", `{"status":{"up":true}}`)
	eventuallyContext(t, aliceKC, "app", conditionPath("Ready"), "True")
	require.Equal(t, "False", contextField(t, aliceKC, "app", conditionPath("Progressing")))
	require.Equal(t, "False", contextField(t, aliceKC, "app", conditionPath("Degraded")))
	header, rows := kubectlTable(t, framework.Kubectl(t, aliceKC, "get", "orchestrationcontexts"))
	require.Equal(t, []string{"NAME", "READY", "AGE"}, header)
	require.Len(t, rows, 1)
	require.Equal(t, "3/3", rows[0]["READY"])
	graph := mesh(t, aliceKC, "context", "status", "app")
	require.Contains(t, graph, "default/app: 3/3 ready  Ready=True Progressing=False Degraded=False\n")
	require.Regexp(t, `\n└─front +`+app.Path+` +Ready +db +\n`, graph)

	// A ready member breaks: Degraded, naming it; fixed, Ready again.
	setComponentReady(t, data, "db", "False", "disk full")
	eventuallyContext(t, aliceKC, "app", conditionPath("Degraded"), "True")
	require.Contains(t, contextField(t, aliceKC, "app", `{.status.conditions[?(@.type=="Degraded")].message}`), "db")
	require.Equal(t, "False", contextField(t, aliceKC, "app", conditionPath("Ready")))
	require.Equal(t, "disk full", contextField(t, aliceKC, "app", memberField("db", "message")))
	eventuallyGate(t, app, "front", "false")
	setComponentReady(t, data, "db", "True", "db is up")
	eventuallyContext(t, aliceKC, "app", conditionPath("Ready"), "True")
	require.Equal(t, "False", contextField(t, aliceKC, "app", conditionPath("Degraded")))

	// Each member transition is recorded as an Event on the context.
	var reasons string
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		out, errOut, err := framework.KubectlResult(t, app.Kubeconfig, "", "get", "events", "--field-selector=involvedObject.name=app", "-o", "jsonpath={.items[*].reason}")
		reasons = out + errOut
		return err == nil && strings.Contains(out, "MemberNotReady") && strings.Contains(out, "MemberReady"), nil
	}, "no member transition events: %s", lazy(func() string { return reasons }))

	// The status never carries a member's spec.
	status := framework.Kubectl(t, aliceKC, "get", "orchestrationcontext", "app", "-o", "jsonpath={.status}")
	require.NotContains(t, status, "db-spec")
	require.NotContains(t, status, "front-spec")

	// Revoked: the member shows Unauthorized on the next reconcile, which its next change
	// brings.
	framework.Kubectl(t, data.Kubeconfig, "delete", "clusterrolebinding", readData)
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		framework.Kubectl(t, data.Kubeconfig, "label", "components", "db", "touched="+framework.RandomName(""), "--overwrite")
		return contextField(t, aliceKC, "app", memberField("db", "reason")) == "Unauthorized", nil
	}, "the revoked member does not show Unauthorized")
	require.Equal(t, "True", contextField(t, aliceKC, "app", conditionPath("Degraded")))
	require.NotContains(t, contextField(t, aliceKC, "app", memberField("db", "message")), "db is up")

	// A member deleted underneath shows NotFound.
	framework.Kubectl(t, app.Kubeconfig, "delete", "configmap", "settings")
	eventuallyContext(t, aliceKC, "app", memberField("settings", "reason"), "NotFound")
}

// TestOrchestrationDeletionPolicy deletes contexts: with Delete, the members go in reverse
// dependency order (a member waits while one that depends on it is still there, which the
// Deleting condition says), then the context; with Orphan (the default), the members stay.
// Delete needs delete on every member.
func TestOrchestrationDeletionPolicy(t *testing.T) {
	t.Parallel()
	app := server.NewAccount(t, "root")
	group := randomGroup()
	applyComponentCRD(t, app, group)
	framework.Kubectl(t, app.Kubeconfig, "create", "clusterrole", "component-admin", "--verb=get,list,watch,delete,patch", "--resource=components."+group)
	alice, bob := framework.RandomName("alice-"), framework.RandomName("bob-")
	grantRole(t, app, "edit", "--user="+alice, false)
	grantRole(t, app, "component-admin", "--user="+alice, false)
	grantRole(t, app, "edit", "--user="+bob, false)
	grantRole(t, app, "component-reader", "--user="+bob, false)
	for _, name := range []string{"db", "web"} {
		framework.KubectlStdin(t, app.Kubeconfig, componentYAML(group, name, name), "create", "-f", "-")
	}
	// web lingers while deleted, until the test lets it go.
	framework.Kubectl(t, app.Kubeconfig, "patch", "components", "web", "--type=merge", "-p", `{"metadata":{"finalizers":["e2e.example.com/hold"]}}`)
	framework.Kubectl(t, app.Kubeconfig, "create", "configmap", "settings")
	framework.Kubectl(t, app.Kubeconfig, "create", "configmap", "kept")
	members := []memberYAML{
		{name: "db", apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "db"},
		{name: "web", apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "web", dependsOn: []string{"db"}},
		{name: "settings", apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "settings"},
	}
	aliceKC, bobKC := userKubeconfig(t, app.Path, alice), userKubeconfig(t, app.Path, bob)
	kubectlEventually(t, aliceKC, "get", "components")
	kubectlEventually(t, bobKC, "get", "components")

	// bob may read but not delete the components: he cannot ask for their deletion.
	out := framework.KubectlFails(t, bobKC, contextWithPolicyYAML("stack", "Delete", members...), "create", "-f", "-")
	require.Contains(t, out, `may not get, watch and delete spec.members[0] ("db"), spec.members[1] ("web")`)

	kubectlEventuallyStdin(t, aliceKC, contextWithPolicyYAML("stack", "Delete", members...), "create", "-f", "-")
	kubectlEventuallyStdin(t, aliceKC, contextYAML("keep", memberYAML{name: "kept", apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "kept"}), "create", "-f", "-")
	require.Equal(t, "Orphan", contextField(t, aliceKC, "keep", "{.spec.deletionPolicy}"))
	eventuallyContext(t, aliceKC, "stack", "{.status.summary}", "0/3 ready")

	// Deleting: web and settings go first; db waits for web, which lingers.
	framework.Kubectl(t, aliceKC, "delete", "orchestrationcontext", "stack", "--wait=false")
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		_, _, err := framework.KubectlResult(t, app.Kubeconfig, "", "get", "configmap", "settings")
		return err != nil, nil
	}, "settings was not deleted")
	require.NotEmpty(t, framework.Kubectl(t, app.Kubeconfig, "get", "components", "web", "-o", "jsonpath={.metadata.deletionTimestamp}"))
	eventuallyContext(t, aliceKC, "stack", `{.status.conditions[?(@.type=="Deleting")].message}`, "deleting: web; waiting for their dependents: db (for web)")
	require.Empty(t, framework.Kubectl(t, app.Kubeconfig, "get", "components", "db", "-o", "jsonpath={.metadata.deletionTimestamp}"),
		"db was deleted before web, which depends on it")

	// web goes: db follows, then the context.
	framework.Kubectl(t, app.Kubeconfig, "patch", "components", "web", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		out := framework.Kubectl(t, app.Kubeconfig, "get", "components,orchestrationcontexts", "-o", "name")
		return !strings.Contains(out, "db") && !strings.Contains(out, "stack"), nil
	}, "db and the context were not deleted")

	// Orphan: the context goes, its member stays.
	framework.Kubectl(t, aliceKC, "delete", "orchestrationcontext", "keep")
	framework.Kubectl(t, app.Kubeconfig, "get", "configmap", "kept")
}

// TestOrchestrationRestart kills the server while a context with the Delete policy is being
// deleted, half-way: the member without dependents and a selector's matches are gone, web
// lingers on a finalizer and db waits for it. After a restart on the same data the deletion
// converges in order: db goes only once web is gone, then the context.
func TestOrchestrationRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := framework.StartServer(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	app := s.CreateAccount(t, "root", "app")
	group := randomGroup()
	applyComponentCRD(t, app, group)
	for _, name := range []string{"db", "web"} {
		framework.KubectlStdin(t, app.Kubeconfig, componentYAML(group, name, name), "create", "-f", "-")
	}
	framework.Kubectl(t, app.Kubeconfig, "patch", "components", "web", "--type=merge", "-p", `{"metadata":{"finalizers":["e2e.example.com/hold"]}}`)
	framework.Kubectl(t, app.Kubeconfig, "create", "configmap", "settings")
	for _, name := range []string{"extra-1", "extra-2", "kept"} {
		framework.Kubectl(t, app.Kubeconfig, "create", "configmap", name)
	}
	framework.Kubectl(t, app.Kubeconfig, "label", "configmap", "extra-1", "extra-2", "role=extra")
	stack := contextWithPolicyYAML("stack", "Delete",
		memberYAML{name: "db", apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "db"},
		memberYAML{name: "web", apiVersion: group + "/v1", kind: "Component", namespace: "default", object: "web", dependsOn: []string{"db"}},
		memberYAML{name: "settings", apiVersion: "v1", kind: "ConfigMap", namespace: "default", object: "settings"},
	) + "  - name: extras\n    selector: {apiVersion: v1, kind: ConfigMap, labelSelector: {matchLabels: {role: extra}}}\n"
	kubectlEventuallyStdin(t, app.Kubeconfig, stack, "create", "-f", "-")
	eventuallyContext(t, app.Kubeconfig, "stack", conditionPath("Progressing"), "True")

	framework.Kubectl(t, app.Kubeconfig, "delete", "orchestrationcontext", "stack", "--wait=false")
	eventuallyContext(t, app.Kubeconfig, "stack", `{.status.conditions[?(@.type=="Deleting")].message}`,
		"deleting: web; waiting for their dependents: db (for web)")
	// settings and the selector's matches went at once; web lingers, db waits for it.
	names := strings.Fields(framework.Kubectl(t, app.Kubeconfig, "get", "components,configmaps", "-o", "jsonpath={.items[*].metadata.name}"))
	require.Subset(t, names, []string{"db", "web", "kept"})
	require.NotContains(t, names, "settings")
	require.NotContains(t, names, "extra-1")
	require.NotContains(t, names, "extra-2")

	s.Kill()
	require.NoError(t, s.Start(ctx))
	kc := s.WriteKubeconfig(t, app.Path)
	// Still waiting for web after the restart: db stays.
	eventuallyContext(t, kc, "stack", `{.status.conditions[?(@.type=="Deleting")].message}`,
		"deleting: web; waiting for their dependents: db (for web)")
	require.Empty(t, framework.Kubectl(t, kc, "get", "components", "db", "-o", "jsonpath={.metadata.deletionTimestamp}"))

	framework.Kubectl(t, kc, "patch", "components", "web", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	framework.Eventually(t, orchestrationTimeout, func(context.Context) (bool, error) {
		out := framework.Kubectl(t, kc, "get", "components,orchestrationcontexts", "-o", "name")
		return !strings.Contains(out, "db") && !strings.Contains(out, "stack"), nil
	}, "db and the context were not deleted after the restart")
	framework.Kubectl(t, kc, "get", "configmap", "kept")
}
