package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestAccountLimits: limits on the account tree set on Account objects flow down: an org
// subtree limit of 3 accounts and a child limit of 1 set on an account below, enforced with
// real kubectl and a message naming the limit, its value and the account that set it; the
// usage and effective limits are visible in AccountInfo; the org's owner cannot raise the
// org's own limit.
func TestAccountLimits(t *testing.T) {
	t.Parallel()
	owner := framework.RandomName("limited-owner-")
	org := newOrg(t, owner)
	framework.Kubectl(t, server.Kubeconfig, "patch", "account", org.Name, "--type=merge", "-p", `{"spec":{"limits":{"maxSubtreeAccounts":3}}}`)
	info := func(acc *framework.Account) string {
		return framework.Kubectl(t, acc.Kubeconfig, "get", "accountinfo", "account", "-o",
			"jsonpath={.spec.usage.childAccounts}/{.spec.usage.subtreeAccounts} child={.spec.usage.maxChildAccounts.value}@{.spec.usage.maxChildAccounts.setBy} subtree={.spec.usage.maxSubtreeAccounts.value}@{.spec.usage.maxSubtreeAccounts.setBy}")
	}
	eventuallyInfo := func(acc *framework.Account, want string) {
		t.Helper()
		var got string
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			got = info(acc)
			return got == want, nil
		}, "AccountInfo of %s: want %q, got %q", acc.Path, want, func() string { return got }())
	}
	eventuallyInfo(org, "0/0 child=@ subtree=3@"+org.Path)

	a := server.NewAccount(t, org.Path)
	framework.Kubectl(t, org.Kubeconfig, "patch", "account", a.Name, "--type=merge", "-p", `{"spec":{"limits":{"maxChildAccounts":1}}}`)
	eventuallyInfo(a, "0/0 child=1@"+a.Path+" subtree=3@"+org.Path)
	c := server.NewAccount(t, a.Path)
	eventuallyInfo(c, "0/0 child=1@"+a.Path+" subtree=3@"+org.Path)

	_, stderr, err := framework.KubectlResult(t, a.Kubeconfig, accountYAML("second", "", ""), "create", "-f", "-")
	require.Error(t, err)
	require.Contains(t, stderr, "(Forbidden)")
	require.Contains(t, stderr, "exceeded account limit maxChildAccounts=1 set by account "+a.Path+": "+a.Path+" has 1 child accounts")

	b := server.NewAccount(t, org.Path)
	eventuallyInfo(org, "2/3 child=@ subtree=3@"+org.Path)
	_, stderr, err = framework.KubectlResult(t, b.Kubeconfig, accountYAML("fourth", "", ""), "create", "-f", "-")
	require.Error(t, err)
	require.Contains(t, stderr, "exceeded account limit maxSubtreeAccounts=3 set by account "+org.Path+": "+org.Path+" has 3 accounts below it")
	require.False(t, strings.Contains(framework.Kubectl(t, b.Kubeconfig, "get", "accounts"), "fourth"), "nothing created")

	// The org's owner administers the org, not its Account object in root.
	requireForbidden(t, userKubeconfig(t, "root", owner), "patch", "account", org.Name, "--type=merge", "-p", `{"spec":{"limits":{"maxSubtreeAccounts":100}}}`)
}
