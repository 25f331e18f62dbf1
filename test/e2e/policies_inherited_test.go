package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// orgPolicies are the organisation-wide policies, bound with inherited bindings: every
// namespace needs a cost-center label, and no Secret may be of type kubernetes.io/basic-auth.
const orgPolicies = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: namespace-cost-center}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [namespaces]}
  validations:
  - expression: "has(object.metadata.labels) && 'cost-center' in object.metadata.labels"
    message: namespaces need a cost-center label
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: namespace-cost-center
  labels: {accountmesh.io/inherit: "true"}
spec: {policyName: namespace-cost-center, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-basic-auth}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [secrets]}
  validations:
  - expression: "object.type != 'kubernetes.io/basic-auth'"
    message: basic-auth secrets are forbidden in this organisation
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-basic-auth
  labels: {accountmesh.io/inherit: "true"}
spec: {policyName: no-basic-auth, validationActions: [Deny]}
`

// policyTree is an organisation with the org policies, a team account four levels below it
// (org:l1:l2:l3:team), a sibling of the team, and a team admin who holds admin in the team
// account only.
type policyTree struct {
	org, l3, team, sibling *framework.Account
	// teamAdmin is a kubeconfig of the team account's admin.
	teamAdmin     string
	teamAdminUser string
}

func newPolicyTree(t *testing.T) *policyTree {
	t.Helper()
	owner := framework.RandomName("org-owner-")
	org := newOrg(t, owner)
	// The org's owner writes the org policies with kubectl: owning the org, the owner holds admin
	// through an inherited binding, which an inherited binding needs.
	framework.KubectlStdin(t, userKubeconfig(t, org.Path, owner), orgPolicies, "apply", "-f", "-")
	l1 := server.NewAccount(t, org.Path)
	l2 := server.NewAccount(t, l1.Path)
	l3 := server.NewAccount(t, l2.Path)
	tr := &policyTree{org: org, l3: l3, team: server.NewAccount(t, l3.Path), sibling: server.NewAccount(t, l3.Path)}
	tr.teamAdminUser = framework.RandomName("team-admin-")
	framework.Kubectl(t, tr.team.Kubeconfig, "create", "clusterrolebinding", "team-admin", "--clusterrole=admin", "--user="+tr.teamAdminUser)
	tr.teamAdmin = userKubeconfig(t, tr.team.Path, tr.teamAdminUser)
	kubectlEventually(t, tr.teamAdmin, "get", "namespaces")
	return tr
}

// effectivePolicies lists the effective policies of an account as the kubeconfig's user.
func effectivePolicies(t *testing.T, acc *framework.Account) []authorizationv1alpha1.EffectivePolicy {
	t.Helper()
	c, err := versioned.NewForConfig(acc.Config)
	require.NoError(t, err)
	list, err := c.AuthorizationV1alpha1().EffectivePolicies().List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	return list.Items
}

// TestInheritedAdmissionPolicies: the example. Org-level policies bound with inherited
// bindings hold in a team account four levels down, for the team's admin and for a platform
// admin alike, with real kubectl; the team account lists them, with where they come from, and
// cannot delete, change or bypass them.
func TestInheritedAdmissionPolicies(t *testing.T) {
	t.Parallel()
	tr := newPolicyTree(t)
	ctx := t.Context()

	// Enforced four levels down, for the team's admin: a namespace needs a cost-center label.
	framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
		_, stderr, err := framework.KubectlResult(t, tr.teamAdmin, "", "create", "namespace", framework.RandomName("ns-"))
		return err != nil && strings.Contains(stderr, "namespaces need a cost-center label"), nil
	}, "the org's namespace policy holds in the team account")
	framework.KubectlStdin(t, tr.teamAdmin, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"billing","labels":{"cost-center":"cc-7"}}}`, "create", "-f", "-")
	_, stderr, err := framework.KubectlResult(t, tr.teamAdmin, "", "label", "namespace", "billing", "cost-center-")
	require.Error(t, err, "removing the label is an update the policy refuses")
	require.Contains(t, stderr, "namespaces need a cost-center label")

	// No basic-auth secrets; other types are fine.
	_, stderr, err = framework.KubectlResult(t, tr.teamAdmin, "", "create", "secret", "generic", "creds", "--type=kubernetes.io/basic-auth",
		"--from-literal=username=u", "--from-literal=password=p")
	require.Error(t, err)
	require.Contains(t, stderr, "basic-auth secrets are forbidden in this organisation")
	require.Contains(t, stderr, "ValidatingAdmissionPolicy 'no-basic-auth' with binding 'no-basic-auth' denied request")
	framework.Kubectl(t, tr.teamAdmin, "create", "secret", "generic", "opaque", "--from-literal=a=b")

	// A platform admin (system:masters) in the team account is bound by them too.
	_, err = tr.team.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "root-creds"},
		Type: corev1.SecretTypeBasicAuth, StringData: map[string]string{"username": "u", "password": "p"}}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "the platform admin gets the denial too: %v", err)

	// The team lists what applies to it and where it comes from.
	out := framework.Kubectl(t, tr.teamAdmin, "get", "effectivepolicies")
	require.Contains(t, out, tr.org.Path+".namespace-cost-center")
	require.Contains(t, out, tr.org.Path+".no-basic-auth")
	items := effectivePolicies(t, tr.team)
	require.Len(t, items, 2)
	for _, ep := range items {
		require.Equal(t, tr.org.Path, ep.Spec.Account)
		require.True(t, ep.Spec.Inherited)
		require.NotNil(t, ep.Spec.Policy, "the policy is shown with its binding")
	}
	// The read-only view cannot be written, not even by a platform admin.
	requireForbidden(t, tr.teamAdmin, "delete", "effectivepolicy", tr.org.Path+".no-basic-auth")
	_, stderr, err = framework.KubectlResult(t, tr.team.Kubeconfig, "", "delete", "effectivepolicy", tr.org.Path+".no-basic-auth")
	require.Error(t, err)
	require.Contains(t, strings.ToLower(stderr), "does not allow this method")

	// The team's admin cannot reach the bindings: they are not the team's objects, and the org
	// is not the team admin's to change.
	_, stderr, err = framework.KubectlResult(t, tr.teamAdmin, "", "delete", "validatingadmissionpolicybinding", "no-basic-auth")
	require.Error(t, err)
	require.Contains(t, stderr, "NotFound")
	orgAsTeamAdmin := userKubeconfig(t, tr.org.Path, tr.teamAdminUser)
	for _, args := range [][]string{
		{"delete", "validatingadmissionpolicybinding", "no-basic-auth"},
		{"label", "validatingadmissionpolicybinding", "no-basic-auth", "accountmesh.io/inherit-", "--overwrite"},
		{"patch", "validatingadmissionpolicy", "no-basic-auth", "--type=merge", "-p", `{"spec":{"failurePolicy":"Ignore"}}`},
	} {
		requireForbidden(t, orgAsTeamAdmin, args...)
	}
	// Nothing changed: still enforced.
	_, err = tr.team.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "still"},
		Type: corev1.SecretTypeBasicAuth, StringData: map[string]string{"username": "u", "password": "p"}}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "still denied: %v", err)
	// The levels in between and the sibling are bound by them as well.
	for _, acc := range []*framework.Account{tr.l3, tr.sibling} {
		_, err = acc.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unlabelled"}}, metav1.CreateOptions{})
		require.True(t, apierrors.IsInvalid(err), "%s: %v", acc.Path, err)
	}
}
