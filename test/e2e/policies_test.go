package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// requireLabelPolicy is a policy, with binding of the same name, that requires the label
// cost-center on the objects of resources in the core group, with validationActions actions.
func requireLabelPolicy(name string, resources []string, actions string) string {
	return fmt.Sprintf(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: %[1]s}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [%[2]s]}
  validations:
  - expression: "has(object.metadata.labels) && 'cost-center' in object.metadata.labels"
    message: every object needs a cost-center label
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: %[1]s}
spec:
  policyName: %[1]s
  validationActions: [%[3]s]
`, name, strings.Join(resources, ", "), actions)
}

// maxKeysPolicy is a policy, and its binding, that limits the keys of the objects of resource
// (ConfigMaps or Secrets) to the value max of the ConfigMap limits in default.
func maxKeysPolicy(resource string) string {
	return `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-keys}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [` + resource + `]}
  validations:
  - expression: "!has(object.data) || size(object.data) <= int(params.data.max)"
    messageExpression: "'at most ' + params.data.max + ' keys'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-keys}
spec:
  policyName: max-keys
  validationActions: [Deny]
  paramRef: {name: limits, namespace: default, parameterNotFoundAction: Deny}
`
}

// eventuallyDenied creates objects with create until one is refused with a message containing
// want (policies take effect once the server's informers see them).
func eventuallyDenied(t *testing.T, want string, create func(ctx context.Context, name string) error) {
	t.Helper()
	var last error
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		last = create(ctx, framework.RandomName("probe-"))
		return last != nil && strings.Contains(last.Error(), want), nil
	}, "never denied with %q; last error: %v", want, last)
}

func configMapCreator(kube kubernetes.Interface, ns string, labels map[string]string) func(ctx context.Context, name string) error {
	return func(ctx context.Context, name string) error {
		_, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
		return err
	}
}

// TestValidatingAdmissionPolicy: policies and bindings of an account apply to its requests
// with upstream's semantics: Deny, Warn, params from the same account, custom resources, the
// type-checking status; they never apply in another account; a policy that matches the policy
// resources does not lock the admin out.
func TestValidatingAdmissionPolicy(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	other := server.NewAccount(t, "root")
	ctx := t.Context()

	framework.KubectlStdin(t, acc.Kubeconfig, requireLabelPolicy("cost-center", []string{"configmaps"}, "Deny"), "apply", "-f", "-")
	eventuallyDenied(t, "every object needs a cost-center label", configMapCreator(acc.Kube, "default", nil))
	err := configMapCreator(acc.Kube, "default", nil)(ctx, "unlabelled-client-go")
	require.True(t, apierrors.IsInvalid(err), "a denial is 422 Invalid, as upstream: %v", err)
	require.Contains(t, err.Error(), `ValidatingAdmissionPolicy 'cost-center' with binding 'cost-center' denied request`)
	_, stderr, kerr := framework.KubectlResult(t, acc.Kubeconfig, "", "create", "configmap", "unlabelled")
	require.Error(t, kerr)
	require.Contains(t, stderr, "every object needs a cost-center label")
	require.NoError(t, configMapCreator(acc.Kube, "default", map[string]string{"cost-center": "42"})(ctx, "labelled"))
	// Secrets are not matched; another account is not affected at all.
	_, err = acc.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, configMapCreator(other.Kube, "default", nil)(ctx, "free"))

	t.Run("warn", func(t *testing.T) {
		framework.KubectlStdin(t, other.Kubeconfig, requireLabelPolicy("warn", []string{"secrets"}, "Warn"), "apply", "-f", "-")
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			stdout, stderr, err := framework.KubectlResult(t, other.Kubeconfig, "", "create", "secret", "generic", framework.RandomName("w-"))
			return err == nil && strings.Contains(stdout+stderr, "Warning: Validation failed for ValidatingAdmissionPolicy 'warn'"), nil
		}, "a Warn binding lets the request through with a warning")
	})

	t.Run("params", func(t *testing.T) {
		_, err := acc.Kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "limits", Labels: map[string]string{"cost-center": "platform"}},
			Data:       map[string]string{"max": "2"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		framework.KubectlStdin(t, acc.Kubeconfig, maxKeysPolicy("secrets"), "apply", "-f", "-")
		secret := func(keys int) func(ctx context.Context, name string) error {
			return func(ctx context.Context, name string) error {
				data := map[string][]byte{}
				for i := range keys {
					data[fmt.Sprint("k", i)] = []byte("v")
				}
				_, err := acc.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{})
				return err
			}
		}
		eventuallyDenied(t, "at most 2 keys", secret(3))
		require.NoError(t, secret(2)(ctx, "two"))
		// The same binding in the other account finds no param there: Deny.
		framework.KubectlStdin(t, other.Kubeconfig, maxKeysPolicy("configmaps"), "apply", "-f", "-")
		eventuallyDenied(t, "no params found", configMapCreator(other.Kube, "default", nil))
	})

	t.Run("custom resources", func(t *testing.T) {
		framework.KubectlStdin(t, acc.Kubeconfig, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: small-widgets}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [example.com], apiVersions: ["*"], operations: ["*"], resources: [widgets]}
  validations:
  - {expression: "object.spec.size < 10", message: widgets must be small}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: small-widgets}
spec: {policyName: small-widgets, validationActions: [Deny]}
`, "apply", "-f", "-")
		framework.Kubectl(t, acc.Kubeconfig, "wait", "--for=condition=Established", "crd/widgets.example.com")
		widget := func(size int) string {
			return fmt.Sprintf(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"%s"},"spec":{"size":%d}}`, framework.RandomName("w-"), size)
		}
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			_, stderr, err := framework.KubectlResult(t, acc.Kubeconfig, widget(11), "create", "-f", "-")
			return err != nil && strings.Contains(stderr, "widgets must be small"), nil
		}, "a big widget is denied")
		framework.KubectlStdin(t, acc.Kubeconfig, widget(3), "create", "-f", "-")

		// Upstream labels its policy metrics with the names of the policy and binding: here the
		// checks are counted, the names are not.
		body, err := server.Root(t).Kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		require.NoError(t, err)
		var checks []string
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "apiserver_validating_admission_policy_check_total{") {
				checks = append(checks, line)
			}
		}
		require.NotEmpty(t, checks, "the policy checks are counted")
		for _, line := range checks {
			require.Contains(t, line, `policy="unexpected",policy_binding="unexpected"`)
		}
		require.NotContains(t, string(body), "small-widgets", "no policy name in /metrics")
	})

	t.Run("bound resources", func(t *testing.T) {
		group := randomGroup()
		provider := server.NewAccount(t, "root")
		consumer := server.NewAccount(t, "root")
		publishDatabases(t, provider, "db", group, "")
		bind(t, consumer, "db", provider.Path, "db")
		waitDiscoverable(t, consumer.Kubeconfig, "databases."+group)
		framework.KubectlStdin(t, consumer.Kubeconfig, `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-large-databases}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [`+group+`], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [databases]}
  validations:
  - {expression: "object.spec.size != 'L'", message: large databases need approval}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-large-databases}
spec: {policyName: no-large-databases, validationActions: [Deny]}
`, "apply", "-f", "-")
		db := func(size string) string {
			return fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: %s, namespace: default}\nspec: {size: %s}\n",
				group, framework.RandomName("db-"), size)
		}
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			_, stderr, err := framework.KubectlResult(t, consumer.Kubeconfig, db("L"), "create", "-f", "-")
			return err != nil && strings.Contains(stderr, "large databases need approval"), nil
		}, "a large database is denied")
		framework.KubectlStdin(t, consumer.Kubeconfig, db("S"), "create", "-f", "-")
		// The policy is type-checked against the bound schema.
		framework.KubectlStdin(t, consumer.Kubeconfig, `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: mistyped-databases}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [`+group+`], apiVersions: [v1], operations: [CREATE], resources: [databases]}
  validations:
  - {expression: "object.spec.flavour == 'x'"}
`, "apply", "-f", "-")
		framework.Eventually(t, 30*time.Second, func(context.Context) (bool, error) {
			out, _, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "validatingadmissionpolicy", "mistyped-databases",
				"-o", "jsonpath={.status.typeChecking.expressionWarnings[0].warning}")
			return err == nil && strings.Contains(out, "flavour"), nil
		}, "the bound schema types the policy")
	})

	t.Run("self-matching policy does not lock out", func(t *testing.T) {
		other := server.NewAccount(t, "root")
		framework.KubectlStdin(t, other.Kubeconfig, `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: deny-everything}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}
  validations:
  - {expression: "false", message: nothing goes}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: deny-everything}
spec: {policyName: deny-everything, validationActions: [Deny]}
`, "apply", "-f", "-")
		eventuallyDenied(t, "nothing goes", configMapCreator(other.Kube, "default", map[string]string{"cost-center": "1"}))
		framework.Kubectl(t, other.Kubeconfig, "delete", "validatingadmissionpolicybinding", "deny-everything")
		framework.Kubectl(t, other.Kubeconfig, "delete", "validatingadmissionpolicy", "deny-everything")
		framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			return configMapCreator(other.Kube, "default", nil)(ctx, framework.RandomName("after-")) == nil, nil
		}, "writes are allowed again once the policy is gone")
	})

	t.Run("type checking", func(t *testing.T) {
		policies := acc.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies()
		for name, expr := range map[string]string{"mistyped": "object.spec.nosuchfield == 1", "broken": "object.metadata.name ==="} {
			_, err := policies.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
					MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
						RuleWithOperations: admissionregistrationv1.RuleWithOperations{
							Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
							Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
						},
					}}},
					Validations: []admissionregistrationv1.Validation{{Expression: expr}},
				},
			}, metav1.CreateOptions{})
			require.NoError(t, err, "a policy whose CEL does not compile is stored")
		}
		for _, name := range []string{"mistyped", "broken"} {
			framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
				p, err := policies.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				return p.Status.ObservedGeneration == p.Generation && p.Status.TypeChecking != nil &&
					len(p.Status.TypeChecking.ExpressionWarnings) == 1 &&
					p.Status.TypeChecking.ExpressionWarnings[0].FieldRef == "spec.validations[0].expression", nil
			}, "%s gets a type-checking warning", name)
		}
		p, err := policies.Get(ctx, "mistyped", metav1.GetOptions{})
		require.NoError(t, err)
		require.Contains(t, p.Status.TypeChecking.ExpressionWarnings[0].Warning, "nosuchfield")
	})

	t.Run("bad input", func(t *testing.T) {
		_, stderr, err := framework.KubectlResult(t, acc.Kubeconfig, `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: bad}
spec: {policyName: cost-center, validationActions: [Deny, Warn, Nope]}
`, "create", "-f", "-")
		require.Error(t, err)
		require.Contains(t, stderr, "spec.validationActions")
		_, err = acc.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, "bad", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "an invalid binding is not stored: %v", err)
	})
}
