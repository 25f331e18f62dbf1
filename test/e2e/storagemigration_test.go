package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// migrationTimeout bounds how long a test waits for a migration; it only guards against a hang.
const migrationTimeout = 60 * time.Second

// thingsCRD is a CRD of Things in group with versions v1 and v2 and no conversion, storing
// storageVersion.
func thingsCRD(group, storageVersion string) string {
	version := func(name string) string {
		return fmt.Sprintf("  - name: %s\n    served: true\n    storage: %t\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n",
			name, name == storageVersion)
	}
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.` + group + `
spec:
  group: ` + group + `
  names: {plural: things, singular: thing, kind: Thing}
  scope: Namespaced
  versions:
` + version("v1") + version("v2")
}

func migrationYAML(name, group, resource string) string {
	return fmt.Sprintf("apiVersion: storagemigration.k8s.io/v1\nkind: StorageVersionMigration\nmetadata: {name: %s}\nspec:\n  resource: {group: %q, resource: %s}\n",
		name, group, resource)
}

// createThings defines things of group in acc, stored in v1, and creates three of them.
func createThings(t *testing.T, acc *framework.Account, group string) {
	t.Helper()
	framework.KubectlStdin(t, acc.Kubeconfig, thingsCRD(group, "v1"), "apply", "-f", "-")
	waitEstablished(t, acc.Kubeconfig, "things."+group)
	for i := range 3 {
		framework.KubectlStdin(t, acc.Kubeconfig, fmt.Sprintf("apiVersion: %s/v1\nkind: Thing\nmetadata: {name: thing-%d, namespace: default}\nsize: %d\n", group, i, i),
			"create", "-f", "-")
	}
}

// resourceVersions returns the resource version of every Thing in namespace default of acc, by
// name.
func resourceVersions(t *testing.T, acc *framework.Account, gvr schema.GroupVersionResource) map[string]string {
	t.Helper()
	list, err := acc.Dynamic.Resource(gvr).Namespace("default").List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	out := map[string]string{}
	for _, item := range list.Items {
		out[item.GetName()] = item.GetResourceVersion()
	}
	return out
}

// switchStorage makes v2 the storage version of things in acc and waits until the CRD records
// it.
func switchStorage(t *testing.T, acc *framework.Account, group string) {
	t.Helper()
	framework.KubectlStdin(t, acc.Kubeconfig, thingsCRD(group, "v2"), "apply", "-f", "-")
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		return framework.Kubectl(t, acc.Kubeconfig, "get", "crd", "things."+group, "-o", "jsonpath={.status.storedVersions}") == `["v1","v2"]`, nil
	})
}

// migrateUntilRewritten runs migrations of things in acc, each made by create with a new name,
// until one has rewritten every object of before (name to resource version). The new storage
// version is served soon after the CRD changed; until then, a migration finds nothing to
// rewrite. Each attempt is a new migration, as upstream's are one-shot.
func migrateUntilRewritten(t *testing.T, acc *framework.Account, gvr schema.GroupVersionResource, before map[string]string, create func(name string)) {
	t.Helper()
	attempt := 0
	framework.Eventually(t, migrationTimeout, func(context.Context) (bool, error) {
		attempt++
		name := fmt.Sprintf("to-v2-%d", attempt)
		create(name)
		require.Equal(t, "Succeeded", waitMigrated(t, acc, name))
		after := resourceVersions(t, acc, gvr)
		for name, rv := range before {
			if after[name] == rv {
				return false, nil
			}
		}
		return true, nil
	}, "no migration rewrote the objects stored in v1")
}

// waitMigrated waits for the outcome of the migration name in acc and returns it.
func waitMigrated(t *testing.T, acc *framework.Account, name string) (outcome string) {
	t.Helper()
	framework.Eventually(t, migrationTimeout, func(context.Context) (bool, error) {
		outcome = framework.Kubectl(t, acc.Kubeconfig, "get", "storageversionmigration", name, "-o",
			`jsonpath={.status.conditions[?(@.status=="True")].type}`)
		return outcome == "Succeeded" || outcome == "Failed", nil
	}, "migration %s has no outcome", name)
	return outcome
}

// migrate creates the migration name of things in acc with kubectl and waits for its outcome,
// which it returns with status.resourceVersion.
func migrate(t *testing.T, acc *framework.Account, name, group string) (outcome, resourceVersion string) {
	t.Helper()
	framework.KubectlStdin(t, acc.Kubeconfig, migrationYAML(name, group, "things"), "create", "-f", "-")
	return waitMigrated(t, acc, name), framework.Kubectl(t, acc.Kubeconfig, "get", "storageversionmigration", name, "-o", "jsonpath={.status.resourceVersion}")
}

// TestStorageVersionMigration checks that a StorageVersionMigration rewrites the objects of its
// resource in its own account once their storage version changed, and nothing else: no write
// while the storage version is the same, no object of another account.
func TestStorageVersionMigration(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")
	const group = "migrate.example.com"
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "things"}
	createThings(t, a, group)
	createThings(t, b, group)
	before := resourceVersions(t, a, gvr)
	require.Len(t, before, 3)

	// Stored in the current version already: the migration succeeds and rewrites nothing.
	outcome, rv := migrate(t, a, "unchanged", group)
	require.Equal(t, "Succeeded", outcome)
	require.NotEmpty(t, rv)
	require.Equal(t, before, resourceVersions(t, a, gvr), "a migration with nothing to migrate wrote objects")

	// v2 becomes the storage version in both accounts; a migration in a rewrites a's objects.
	bBefore := resourceVersions(t, b, gvr)
	switchStorage(t, a, group)
	switchStorage(t, b, group)
	migrateUntilRewritten(t, a, gvr, before, func(name string) {
		framework.KubectlStdin(t, a.Kubeconfig, migrationYAML(name, group, "things"), "create", "-f", "-")
	})
	out := framework.Kubectl(t, a.Kubeconfig, "get", "storageversionmigrations")
	require.Contains(t, out, "things."+group)
	require.Contains(t, out, "Succeeded")
	// b's objects are b's: a's migrations never touched them, though they are stored in v1.
	require.Equal(t, bBefore, resourceVersions(t, b, gvr))
	require.NotContains(t, framework.Kubectl(t, b.Kubeconfig, "get", "storageversionmigrations", "-o", "name"), "to-v2")

	// The spec is fixed.
	_, errOut, err := framework.KubectlResult(t, a.Kubeconfig, "", "patch", "storageversionmigration", "unchanged", "--type=merge",
		"-p", `{"spec":{"resource":{"resource":"configmaps","group":""}}}`)
	require.Error(t, err)
	require.Contains(t, errOut, "spec: Invalid value")
	require.Contains(t, errOut, "field is immutable")
	require.Equal(t, "things", framework.Kubectl(t, a.Kubeconfig, "get", "storageversionmigration", "unchanged", "-o", "jsonpath={.spec.resource.resource}"))

	// A resource that is served but not stored cannot be migrated.
	framework.KubectlStdin(t, a.Kubeconfig, migrationYAML("reviews", "authentication.k8s.io", "tokenreviews"), "create", "-f", "-")
	framework.Eventually(t, migrationTimeout, func(context.Context) (bool, error) {
		out := framework.Kubectl(t, a.Kubeconfig, "get", "storageversionmigration", "reviews", "-o",
			`jsonpath={.status.conditions[?(@.type=="Failed")].status}/{.status.conditions[?(@.type=="Failed")].reason}`)
		return out == "True/ResourceNotStored", nil
	})

	// Bad input is refused with the field named, and nothing is stored.
	errOut = framework.KubectlFails(t, a.Kubeconfig, migrationYAML("bad", "", "Config_Maps"), "create", "-f", "-")
	require.Contains(t, errOut, "spec.resource.resource")
	_, _, err = framework.KubectlResult(t, a.Kubeconfig, "", "get", "storageversionmigration", "bad")
	require.Error(t, err)
	require.False(t, strings.Contains(framework.Kubectl(t, a.Kubeconfig, "get", "storageversionmigrations", "-o", "name"), "/bad"))
}
