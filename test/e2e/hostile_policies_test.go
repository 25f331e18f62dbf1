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

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// denyConfigMaps is a policy that refuses every ConfigMap named like a probe, and its binding,
// named name, labelled to flow down when inherit is set.
func denyConfigMaps(name string, inherit bool) string {
	labels := ""
	if inherit {
		labels = "\n  labels: {accountmesh.io/inherit: \"true\"}"
	}
	return `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: ` + name + `}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  validations:
  - {expression: "!object.metadata.name.startsWith('probe-')", message: "` + name + ` says no"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ` + name + labels + `
spec: {policyName: ` + name + `, validationActions: [Deny]}
`
}

// requireAllowsProbes checks that account acc accepts probe ConfigMaps, then and for a while
// (a policy that would wrongly apply would have reached the index by then).
func requireAllowsProbes(t *testing.T, acc *framework.Account) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		require.NoError(t, configMapCreator(acc.Kube, "default", nil)(t.Context(), framework.RandomName("probe-")), acc.Path)
		time.Sleep(200 * time.Millisecond)
	}
}

// TestHostilePolicies attacks inherited admission policies (R16, R17): a descendant's admin
// cannot shadow, delete, patch, relabel or otherwise bypass what it inherits, nor make a binding
// of its own flow down without inherited rights; a sibling's policies never apply to or show in
// another account, and an inherited label on a binding in a leaf affects neither its parent nor
// its siblings.
func TestHostilePolicies(t *testing.T) {
	t.Parallel()
	tr := newPolicyTree(t)
	ctx := t.Context()
	basicAuth := func(name string) error {
		_, err := tr.team.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
			Type: corev1.SecretTypeBasicAuth, StringData: map[string]string{"username": "u", "password": "p"}}, metav1.CreateOptions{})
		return err
	}
	eventuallyDenied(t, "basic-auth secrets are forbidden", func(_ context.Context, name string) error { return basicAuth(name) })

	t.Run("shadow with a local policy and binding of the same names", func(t *testing.T) {
		framework.KubectlStdin(t, tr.teamAdmin, `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-basic-auth}
spec:
  failurePolicy: Ignore
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [secrets]}
  validations:
  - {expression: "true"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-basic-auth}
spec: {policyName: no-basic-auth, validationActions: [Audit]}
`, "apply", "-f", "-")
		framework.Eventually(t, 10*time.Second, func(context.Context) (bool, error) {
			return len(effectivePolicies(t, tr.team)) == 3, nil
		}, "the local binding shows next to the inherited ones")
		err := basicAuth(framework.RandomName("shadow-"))
		require.True(t, apierrors.IsInvalid(err), "the inherited binding still applies: %v", err)
		require.Contains(t, err.Error(), "basic-auth secrets are forbidden")
	})

	t.Run("delete, patch or relabel an inherited binding", func(t *testing.T) {
		framework.Kubectl(t, tr.teamAdmin, "delete", "validatingadmissionpolicybinding", "no-basic-auth")
		framework.Kubectl(t, tr.teamAdmin, "delete", "validatingadmissionpolicy", "no-basic-auth")
		// In the team account the org's objects do not exist; a copy the team makes is its own.
		for _, args := range [][]string{
			{"delete", "validatingadmissionpolicybinding", "namespace-cost-center"},
			{"patch", "validatingadmissionpolicybinding", "namespace-cost-center", "--type=merge", "-p", `{"spec":{"validationActions":["Audit"]}}`},
			{"label", "validatingadmissionpolicybinding", "namespace-cost-center", "accountmesh.io/inherit=false", "--overwrite"},
		} {
			_, stderr, err := framework.KubectlResult(t, tr.teamAdmin, "", args...)
			require.Error(t, err, args)
			require.Contains(t, stderr, "NotFound", args)
		}
		// In the org they are forbidden, the same as for an account that does not exist.
		orgAsTeamAdmin := userKubeconfig(t, tr.org.Path, tr.teamAdminUser)
		for _, args := range [][]string{
			{"delete", "validatingadmissionpolicybinding", "namespace-cost-center"},
			{"patch", "validatingadmissionpolicybinding", "namespace-cost-center", "--type=merge", "-p", `{"spec":{"validationActions":["Audit"]}}`},
			{"label", "validatingadmissionpolicybinding", "namespace-cost-center", "accountmesh.io/inherit-"},
			{"get", "validatingadmissionpolicy", "namespace-cost-center"},
		} {
			requireForbidden(t, orgAsTeamAdmin, args...)
		}
		err := basicAuth(framework.RandomName("after-"))
		require.True(t, apierrors.IsInvalid(err), "still enforced: %v", err)
		require.Len(t, effectivePolicies(t, tr.team), 2)
	})

	t.Run("an inherited binding needs inherited rights", func(t *testing.T) {
		// The team admin holds admin in the team account only: a binding that would flow
		// below it is refused and not stored.
		_, stderr, err := framework.KubectlResult(t, tr.teamAdmin, denyConfigMaps("team-wide", true), "apply", "-f", "-")
		require.Error(t, err)
		require.Contains(t, stderr, "applies in every account below this one")
		_, err = tr.team.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, "team-wide", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%v", err)
		// Nor can it relabel its own local binding to flow down.
		framework.KubectlStdin(t, tr.teamAdmin, denyConfigMaps("team-local", false), "apply", "-f", "-")
		_, stderr, err = framework.KubectlResult(t, tr.teamAdmin, "", "label", "validatingadmissionpolicybinding", "team-local", "accountmesh.io/inherit=true")
		require.Error(t, err)
		require.Contains(t, stderr, "applies in every account below this one")
	})

	t.Run("a leaf's inherited binding stays in its subtree", func(t *testing.T) {
		// A platform admin may label it; it applies in the team, not in its parent or sibling.
		framework.KubectlStdin(t, tr.team.Kubeconfig, denyConfigMaps("leaf-wide", true), "apply", "-f", "-")
		eventuallyDenied(t, "leaf-wide says no", configMapCreator(tr.team.Kube, "default", nil))
		requireAllowsProbes(t, tr.l3)
		requireAllowsProbes(t, tr.sibling)
		for _, acc := range []*framework.Account{tr.l3, tr.sibling} {
			for _, ep := range effectivePolicies(t, acc) {
				require.NotEqual(t, tr.team.Path, ep.Spec.Account, "%s lists a policy of the team", acc.Path)
			}
		}
	})

	t.Run("a sibling's policies never apply or show", func(t *testing.T) {
		framework.KubectlStdin(t, tr.sibling.Kubeconfig, denyConfigMaps("sibling-wide", true), "apply", "-f", "-")
		eventuallyDenied(t, "sibling-wide says no", configMapCreator(tr.sibling.Kube, "default", map[string]string{"x": "y"}))
		_, err := tr.team.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-a-probe"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		out := framework.Kubectl(t, tr.teamAdmin, "get", "effectivepolicies", "-o", "yaml")
		require.NotContains(t, out, tr.sibling.Path)
		require.NotContains(t, out, tr.sibling.ClusterID)
		require.NotContains(t, out, "sibling-wide")
		// A binding of the org without the label stays in the org.
		framework.KubectlStdin(t, tr.org.Kubeconfig, denyConfigMaps("org-local", false), "apply", "-f", "-")
		eventuallyDenied(t, "org-local says no", configMapCreator(tr.org.Kube, "default", nil))
		require.False(t, strings.Contains(framework.Kubectl(t, tr.teamAdmin, "get", "effectivepolicies"), "org-local"))
	})
}

// TestHostileProviderPolicies attacks provider policies (R39): an export's policy whose match
// names every resource applies in consumer accounts to the export's resources only, never to a
// consumer's ConfigMaps, while it does hold for them in the provider's own account; and a
// provider's user who may change the export but not read a binding cannot make consumers
// subject to it.
func TestHostileProviderPolicies(t *testing.T) {
	t.Parallel()
	group, provider, consumers := providerWithPolicies(t)

	// The policy is in effect: in the provider's account for ConfigMaps (a binding of its own),
	// and in the consumers for Databases.
	eventuallyDenied(t, "the provider says no", configMapCreator(provider.Kube, "default", nil))
	for _, c := range consumers {
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			_, stderr, err := framework.KubectlResult(t, c.Kubeconfig, databaseYAML(group, framework.RandomName("probe-"), 1), "create", "-f", "-")
			return err != nil && strings.Contains(stderr, "the provider says no"), nil
		}, "the provider's policy holds for its databases in %s", c.Path)
		// But not for anything else of the consumer's.
		requireAllowsProbes(t, c)
		framework.Kubectl(t, c.Kubeconfig, "create", "namespace", framework.RandomName("probe-"))
	}

	// A provider's user who may update the export but not get bindings cannot name one.
	user := framework.RandomName("exporter-")
	kubectlApply(t, provider.Kubeconfig, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: exporter}
rules:
- {apiGroups: [apis.accountmesh.io], resources: [apiexports], verbs: [get, list, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: exporter}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exporter}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: `+user+`}]
`)
	exporter := userKubeconfig(t, provider.Path, user)
	kubectlEventually(t, exporter, "get", "apiexport", "db")
	before := framework.Kubectl(t, provider.Kubeconfig, "get", "apiexport", "db", "-o", "jsonpath={.spec.admissionPolicies}")
	errOut := framework.KubectlFails(t, exporter, "", "patch", "apiexport", "db", "--type=json",
		"-p", `[{"op":"add","path":"/spec/admissionPolicies/-","value":{"bindingName":"someone-elses"}}]`)
	require.Contains(t, errOut, `naming ValidatingAdmissionPolicyBinding "someone-elses" needs the right to get it`)
	require.Equal(t, before, framework.Kubectl(t, provider.Kubeconfig, "get", "apiexport", "db", "-o", "jsonpath={.spec.admissionPolicies}"), "nothing changed")
	// What the export named already stays: removing one is not checked.
	framework.Kubectl(t, exporter, "patch", "apiexport", "db", "--type=json", "-p", `[{"op":"remove","path":"/spec/admissionPolicies/1"}]`)
}
