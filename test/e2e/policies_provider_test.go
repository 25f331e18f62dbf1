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

// policyYAML is a ValidatingAdmissionPolicy name with one resource rule and one validation,
// and a binding of the same name that denies.
func policyYAML(name, rule, expression, message string) string {
	return `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ` + name + `}
spec:
  matchConstraints:
    resourceRules: [` + rule + `]
  validations: [{expression: "` + expression + `", message: "` + message + `"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ` + name + `}
spec: {policyName: ` + name + `, validationActions: [Deny]}
`
}

// providerPolicies are a provider's policies: databases may have at most 10 replicas, and (what
// a provider must not be able to impose on its consumers) nothing may be named like a probe.
// Both are named by the export.
var providerPolicies = policyYAML("db-replicas", `{apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: [databases]}`,
	"!has(object.spec.replicas) || object.spec.replicas <= 10", "a database has at most 10 replicas") + "---" +
	policyYAML("police-configmaps", `{apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE], resources: ["*"]}`,
		"!object.metadata.name.startsWith('probe-')", "the provider says no")

// exportPolicies is the spec.admissionPolicies of the provider's export.
const exportPolicies = "  admissionPolicies:\n  - {bindingName: db-replicas}\n  - {bindingName: police-configmaps}\n"

// providerWithPolicies publishes databases of a random group from a provider account whose
// export names the provider's policies, binds it in two consumer accounts and returns the group,
// the provider and the consumers.
func providerWithPolicies(t *testing.T) (string, *framework.Account, []*framework.Account) {
	t.Helper()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	kubectlApply(t, provider.Kubeconfig, providerPolicies)
	kubectlApply(t, provider.Kubeconfig, dbSchemaYAML("v1", group, "\n              replicas: {type: integer}"))
	kubectlApply(t, provider.Kubeconfig, dbExportYAML("db", group, "v1.databases."+group, exportPolicies))
	consumers := []*framework.Account{server.NewAccount(t, "root"), server.NewAccount(t, "root")}
	for _, c := range consumers {
		bind(t, c, "db", provider.Path, "db")
		waitDiscoverable(t, c.Kubeconfig, "databases."+group)
	}
	return group, provider, consumers
}

// databaseYAML is a Database of group with replicas.
func databaseYAML(group, name string, replicas int) string {
	return fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: %s, namespace: default}\nspec: {replicas: %d}\n", group, name, replicas)
}

// TestProviderAdmissionPolicies: a provider's policy named by its export holds in every
// consumer account that binds it, for the consumer's admin, with real kubectl; the consumer
// lists it among its effective policies with the export it comes from, and can neither delete
// nor shadow it.
func TestProviderAdmissionPolicies(t *testing.T) {
	t.Parallel()
	group, provider, consumers := providerWithPolicies(t)
	resource := "databases." + group

	for _, c := range consumers {
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			_, stderr, err := framework.KubectlResult(t, c.Kubeconfig, databaseYAML(group, framework.RandomName("big-"), 11), "create", "-f", "-")
			return err != nil && strings.Contains(stderr, "a database has at most 10 replicas"), nil
		}, "the provider's policy holds in %s", c.Path)
		framework.KubectlStdin(t, c.Kubeconfig, databaseYAML(group, "small", 10), "create", "-f", "-")
		require.Contains(t, framework.KubectlFails(t, c.Kubeconfig, "", "patch", resource, "small", "--type=merge", "-p", `{"spec":{"replicas":12}}`),
			"a database has at most 10 replicas", "an update is checked too")

		// Listed where it comes from.
		name := provider.Path + ".db.db-replicas"
		out := framework.Kubectl(t, c.Kubeconfig, "get", "effectivepolicy", name, "-o",
			"jsonpath={.spec.account} {.spec.export} {.spec.bindingName} {.spec.binding.policyName}")
		require.Equal(t, provider.Path+" db db-replicas db-replicas", out)

		// Not the consumer's to delete, change or shadow.
		require.Contains(t, framework.KubectlFails(t, c.Kubeconfig, "", "delete", "effectivepolicy", name), "MethodNotAllowed")
		require.Contains(t, framework.KubectlFails(t, c.Kubeconfig, "", "delete", "validatingadmissionpolicybinding", "db-replicas"), "NotFound")
		kubectlApply(t, c.Kubeconfig, policyYAML("db-replicas", `{apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE], resources: [databases]}`, "true", "local"))
		require.Contains(t, framework.KubectlFails(t, c.Kubeconfig, databaseYAML(group, framework.RandomName("big-"), 11), "create", "-f", "-"),
			"a database has at most 10 replicas", "a local policy of the same name shadows nothing")
	}

	// Removed from the export, it stops applying.
	framework.Kubectl(t, provider.Kubeconfig, "patch", "apiexport", "db", "--type=json", "-p", `[{"op":"remove","path":"/spec/admissionPolicies"}]`)
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		_, _, err := framework.KubectlResult(t, consumers[0].Kubeconfig, databaseYAML(group, framework.RandomName("big-"), 11), "create", "-f", "-")
		return err == nil, nil
	}, "the policy stops applying once the export no longer names it")
}
