package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// platformMaxObjects is the shared server's --default-max-objects-per-account.
const platformMaxObjects = 100000

// objectUsage returns an account's AccountInfo usage of objects as
// <objects> <maxObjects.value> <source> <setBy> <type>.
func objectUsage(t *testing.T, kubeconfig string) []string {
	t.Helper()
	return strings.Split(framework.Kubectl(t, kubeconfig, "get", "accountinfo", "account", "-o",
		"jsonpath={.spec.usage.objects}|{.spec.usage.maxObjects.value}|{.spec.usage.maxObjects.source}|{.spec.usage.maxObjects.setBy}|{.spec.usage.maxObjects.type}"), "|")
}

// eventuallyMaxObjects waits until AccountInfo shows the effective limit want
// (<value>|<source>|<setBy>|<type>) and returns the objects it counts then.
func eventuallyMaxObjects(t *testing.T, acc *framework.Account, want string) int {
	t.Helper()
	var got []string
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		got = objectUsage(t, acc.Kubeconfig)
		return strings.Join(got[1:], "|") == want, nil
	}, "AccountInfo of %s: want maxObjects %q, got %q", acc.Path, want, func() []string { return got }())
	n, err := strconv.Atoi(got[0])
	require.NoError(t, err)
	return n
}

// fillUntilRefused creates ConfigMaps in the account with kubectl until one is refused, at most
// max, and returns kubectl's error output and how many were created.
func fillUntilRefused(t *testing.T, kubeconfig string, maxCreates int) (string, int) {
	t.Helper()
	for i := 0; i < maxCreates; i++ {
		_, stderr, err := framework.KubectlResult(t, kubeconfig, "", "create", "configmap", framework.RandomName("fill-"))
		if err != nil {
			return stderr, i
		}
	}
	t.Fatalf("%d ConfigMaps were created without refusal", maxCreates)
	return "", 0
}

// TestAccountObjectLimits: limits on the objects an account stores, from the platform's flag,
// an Account object above and an AccountType, the smallest winning; going over gets 403 naming
// the limit, its value and what set it, with real kubectl, for any resource; other accounts are
// unaffected; AccountInfo shows the usage and the effective limit, and /metrics the totals
// without any account.
func TestAccountObjectLimits(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	before := eventuallyMaxObjects(t, acc, fmt.Sprintf("%d|Platform||", platformMaxObjects))
	require.Positive(t, before, "a new account stores its default namespace and more")

	// The Account object, in the parent, lowers it for the account and every account below.
	limit := before + 3
	framework.Kubectl(t, server.Kubeconfig, "patch", "account", acc.Name, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"limits":{"maxObjects":%d}}}`, limit))
	eventuallyMaxObjects(t, acc, fmt.Sprintf("%d|Account|%s|", limit, acc.Path))
	stderr, created := fillUntilRefused(t, acc.Kubeconfig, 10)
	require.Contains(t, stderr, "is forbidden", "403 Forbidden")
	require.Contains(t, stderr, fmt.Sprintf("exceeded account limit maxObjects=%d set by account %s: %s stores %d objects", limit, acc.Path, acc.Path, limit))
	require.LessOrEqual(t, created, 3)
	// Any resource: a namespace, a role.
	require.Contains(t, framework.KubectlFails(t, acc.Kubeconfig, "", "create", "namespace", framework.RandomName("ns-")), "exceeded account limit maxObjects")
	require.Contains(t, framework.KubectlFails(t, acc.Kubeconfig, "", "create", "clusterrole", framework.RandomName("r-"), "--verb=get", "--resource=configmaps"), "exceeded account limit maxObjects")
	// Another account is not affected.
	other := server.NewAccount(t, "root")
	framework.Kubectl(t, other.Kubeconfig, "create", "configmap", "free")
	// Updates and deletes are not creations; a deletion frees its slot once counted again.
	framework.Kubectl(t, acc.Kubeconfig, "label", "namespace", "default", "touched=yes")
	framework.Kubectl(t, acc.Kubeconfig, "delete", "configmap", "--all", "-n", "default", "--wait=false")
	framework.Eventually(t, 60*time.Second, func(context.Context) (bool, error) {
		_, _, err := framework.KubectlResult(t, acc.Kubeconfig, "", "create", "configmap", framework.RandomName("again-"))
		return err == nil, nil
	}, "the slots of deleted objects are freed at the next count")

	// A type's limit, for accounts of the type; the smallest of type, Account and platform wins.
	owner := framework.RandomName("objects-owner-")
	org := newOrg(t, owner)
	typeName := framework.RandomName("small-")
	kubectlApply(t, org.Kubeconfig, `apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata: {name: `+typeName+`}
spec: {extends: account, limits: {maxObjects: 25}}
`)
	kubectlApply(t, org.Kubeconfig, accountYAML("typed", typeName, owner))
	typed := server.WaitForAccountReady(t.Context(), t, org.Path, "typed")
	eventuallyMaxObjects(t, typed, fmt.Sprintf("25|AccountType|%s|%s", org.Path, typeName))
	framework.Kubectl(t, org.Kubeconfig, "patch", "account", "typed", "--type=merge", "-p", `{"spec":{"limits":{"maxObjects":100}}}`)
	framework.Kubectl(t, server.Kubeconfig, "patch", "account", org.Name, "--type=merge", "-p", `{"spec":{"limits":{"maxObjects":1000}}}`)
	eventuallyMaxObjects(t, org, fmt.Sprintf("1000|Account|%s|", org.Path))
	// The org's owner administers the org, not its Account object in root: no raising its limit.
	requireForbidden(t, userKubeconfig(t, "root", owner), "patch", "account", org.Name, "--type=merge", "-p", `{"spec":{"limits":{"maxObjects":100000}}}`)
	require.Equal(t, []string{"25", "AccountType", org.Path, typeName}, objectUsage(t, typed.Kubeconfig)[1:], "the type's is the smallest")
	stderr, _ = fillUntilRefused(t, typed.Kubeconfig, 30)
	require.Contains(t, stderr, fmt.Sprintf("exceeded account limit maxObjects=25 set by account type %s of account %s: %s stores 25 objects", typeName, org.Path, typed.Path))

	// Metrics: totals and bands, never an account.
	kube, err := kubernetes.NewForConfig(server.Config)
	require.NoError(t, err)
	body, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "accountmesh_") && (strings.Contains(l, "object") || strings.Contains(l, "stored")) {
			lines = append(lines, l)
		}
	}
	joined := strings.Join(lines, "\n")
	require.Regexp(t, regexp.MustCompile(`(?m)^accountmesh_object_limit_rejections_total\{source="Account"\} [1-9]`), joined)
	require.Regexp(t, regexp.MustCompile(`(?m)^accountmesh_object_limit_rejections_total\{source="AccountType"\} [1-9]`), joined)
	require.Regexp(t, regexp.MustCompile(`(?m)^accountmesh_stored_objects [1-9]`), joined)
	require.Contains(t, joined, `accountmesh_accounts_by_object_limit_usage{usage="at_limit"}`)
	for _, a := range []*framework.Account{acc, typed, org} {
		require.NotContains(t, joined, a.ClusterID)
		require.NotContains(t, joined, a.Path)
	}
}
