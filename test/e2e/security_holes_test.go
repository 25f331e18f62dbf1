package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// The tests in this file reproduce the seven holes of the security review (issue 11), each as
// a user without admin rights, and require that each is refused and changes nothing.

var (
	apiBindingsGVR  = schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apibindings"}
	apiExportsGVR   = schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apiexports"}
	accountTypesGVR = schema.GroupVersionResource{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accounttypes"}
)

// impersonatorRoleYAML lets its holders impersonate any user, group and user extra in the
// account: what an account admin may grant there.
const impersonatorRoleYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonator}
rules:
- {apiGroups: [""], resources: [users, groups, serviceaccounts], verbs: [impersonate]}
- {apiGroups: [authentication.k8s.io], resources: ["userextras/*", uids], verbs: [impersonate]}
`

// bindingObject is an APIBinding of the export name of providerPath.
func bindingObject(name, providerPath, export string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIBinding", "metadata": map[string]interface{}{"name": name},
		"spec": map[string]interface{}{"reference": map[string]interface{}{"export": map[string]interface{}{"path": providerPath, "name": export}}},
	}}
}

// requireNoBindings requires that the account has no APIBinding.
func requireNoBindings(t *testing.T, acc *framework.Account) {
	t.Helper()
	list, err := dynamicClient(t, acc.Config).Resource(apiBindingsGVR).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, list.Items, "no APIBinding may exist in %s", acc.Path)
}

// TestSecurityHole1ExportBuiltinResources: an export naming built-in resources is refused, and
// the provider view does not reach a consumer's RBAC or child accounts.
func TestSecurityHole1ExportBuiltinResources(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	grantRole(t, provider, "admin", "--user=prov", false)
	prov := userConfig(t, provider.Path, "prov")
	publishDatabases(t, provider, "db", group, "")
	bind(t, consumer, "db", provider.Path, "db")
	owner, err := consumer.Kube.RbacV1().ClusterRoleBindings().Get(ctx, corev1alpha1.OwnerBindingName, metav1.GetOptions{})
	require.NoError(t, err)

	d := dynamicClient(t, prov)
	for _, builtin := range []struct{ group, resource string }{
		{"rbac.authorization.k8s.io", "clusterrolebindings"},
		{"core.accountmesh.io", "accounts"},
		{"apis.accountmesh.io", "apibindings"},
		{"marketplace.accountmesh.io", "entries"},
	} {
		evil := &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIExport", "metadata": map[string]interface{}{"name": "evil-" + strings.ReplaceAll(builtin.resource, ".", "-")},
			"spec": map[string]interface{}{"resources": []interface{}{
				map[string]interface{}{"group": builtin.group, "name": builtin.resource, "schema": "v1." + builtin.resource + "." + builtin.group},
			}},
		}}
		_, err := d.Resource(apiExportsGVR).Create(ctx, evil, metav1.CreateOptions{})
		require.True(t, apierrors.IsInvalid(err), "an export of %s/%s: %v", builtin.group, builtin.resource, err)
		require.Contains(t, err.Error(), "the group is served by Account Mesh itself")
		// Nor can an existing export be turned into one.
		_, err = d.Resource(apiExportsGVR).Patch(ctx, "db", "application/merge-patch+json",
			[]byte(`{"spec":{"resources":[{"group":"`+builtin.group+`","name":"`+builtin.resource+`","schema":"v1.databases.`+group+`"}]}}`), metav1.PatchOptions{})
		require.True(t, apierrors.IsInvalid(err), "turning db into an export of %s: %v", builtin.resource, err)
	}

	// Through the view, the provider reaches neither the consumer's owner binding nor its
	// accounts, by cluster ID or at the wildcard.
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "prov-content", "--clusterrole=admin", "--user=prov")
	for _, account := range []string{consumer.ClusterID, "*"} {
		kube, err := kubernetes.NewForConfig(viewConfig(prov, provider, "db", account))
		require.NoError(t, err)
		err = kube.RbacV1().ClusterRoleBindings().Delete(ctx, corev1alpha1.OwnerBindingName, metav1.DeleteOptions{})
		require.Error(t, err, "deleting the owner binding through the view at %s", account)
		_, err = kube.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
		require.Error(t, err, "listing RBAC through the view at %s", account)
		viewDyn, err := dynamic.NewForConfig(viewConfig(prov, provider, "db", account))
		require.NoError(t, err)
		_, err = viewDyn.Resource(schema.GroupVersionResource{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accounts"}).List(ctx, metav1.ListOptions{})
		require.Error(t, err, "listing accounts through the view at %s", account)
	}
	after, err := consumer.Kube.RbacV1().ClusterRoleBindings().Get(ctx, corev1alpha1.OwnerBindingName, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, owner.ResourceVersion, after.ResourceVersion, "the owner binding is unchanged")
}

// TestSecurityHole2DefaultResourcesRights: default resources are created with the rights of
// the type's author, checked when the type is defined and again when an account is created.
func TestSecurityHole2DefaultResourcesRights(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, "olive")
	olive := userConfig(t, org.Path, "olive")
	oliveTypes := dynamicClient(t, olive).Resource(accountTypesGVR)

	// Full rights in new accounts: a ClusterRole "*" and a binding of it to herself. Olive is
	// admin, not "*", so she may not define them (escalation, as if she created them).
	escalating := `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"god"},
	  "spec":{"extends":"account","defaultResources":[
	    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"everything"},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]},{"nonResourceURLs":["*"],"verbs":["*"]}]},
	    {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"everything"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"everything"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"olive"}]}]}}`
	obj := &unstructured.Unstructured{}
	require.NoError(t, json.Unmarshal([]byte(escalating), &obj.Object))
	_, err := oliveTypes.Create(ctx, obj, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "a type granting more than its author holds: %v", err)
	require.Contains(t, err.Error(), "spec.defaultResources[0]")
	_, err = oliveTypes.Get(ctx, "god", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the type was not created: %v", err)

	// A binding to an export she may not bind: allowed to define (she may create bindings),
	// refused at use, where it is created as olive in the new account.
	provider := server.NewAccount(t, "root")
	publishDatabases(t, provider, "private", randomGroup(), "")
	binder := `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"binder",
	  "annotations":{"accountmesh.io/defined-by":"{\"username\":\"accountmesh-admin\",\"groups\":[\"system:masters\"]}"}},
	  "spec":{"extends":"account","defaultResources":[
	    {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"tier":"gold"}},
	    {"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"APIBinding","metadata":{"name":"private"},"spec":{"reference":{"export":{"path":"` + provider.Path + `","name":"private"}}}}]}}`
	obj = &unstructured.Unstructured{}
	require.NoError(t, json.Unmarshal([]byte(binder), &obj.Object))
	created, err := oliveTypes.Create(ctx, obj, metav1.CreateOptions{})
	require.NoError(t, err)
	var author authenticationv1.UserInfo
	require.NoError(t, json.Unmarshal([]byte(created.GetAnnotations()[corev1alpha1.DefinedByAnnotation]), &author))
	require.Equal(t, "olive", author.Username, "the server records the author, whatever the request says")

	kubectlApply(t, userKubeconfig(t, org.Path, "olive"), accountYAML("bound", "binder", ""))
	d := dynamicClient(t, org.Config)
	acc := waitForAccount(t, d, "bound", "the default-resources initializer fails", func(a *corev1alpha1.Account) bool {
		return hasCondition(a, corev1alpha1.AccountConditionInitialized, metav1.ConditionFalse, corev1alpha1.AccountReasonInitializerFailed)
	})
	msg := condition(t, acc, corev1alpha1.AccountConditionInitialized).Message
	require.Contains(t, msg, `as "olive"`)
	require.Contains(t, msg, "may not bind")
	require.Equal(t, corev1alpha1.AccountPhaseInitializing, acc.Status.Phase)
	list, err := dynamicClient(t, server.ConfigFor(acc.Status.ClusterID)).Resource(apiBindingsGVR).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, list.Items, "no binding to the private export in the new account")

	// Granted bind, olive's type works: the binding is created as her.
	framework.KubectlStdin(t, provider.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bind-private}
rules: [{apiGroups: [apis.accountmesh.io], resources: [apiexports], resourceNames: [private], verbs: [bind]}]
`, "apply", "-f", "-")
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "olive-binds", "--clusterrole=bind-private", "--user=olive")
	kubectlApply(t, userKubeconfig(t, org.Path, "olive"), accountYAML("bound-too", "binder", ""))
	ready := server.WaitForAccountReady(ctx, t, org.Path, "bound-too")
	_, err = ready.Kube.CoreV1().ConfigMaps("default").Get(ctx, "settings", metav1.GetOptions{})
	require.NoError(t, err)
	b, err := dynamicClient(t, ready.Config).Resource(apiBindingsGVR).Get(ctx, "private", metav1.GetOptions{})
	require.NoError(t, err, "the default binding, created as olive")
	require.Equal(t, provider.Path, b.Object["spec"].(map[string]interface{})["reference"].(map[string]interface{})["export"].(map[string]interface{})["path"])
}

// TestSecurityHole3ImpersonatedReservedGroups: a user allowed to impersonate in her account
// cannot impersonate the reserved accountmesh: groups to bind an export open to another
// subtree only.
func TestSecurityHole3ImpersonatedReservedGroups(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acme := newOrg(t, "acme-owner")
	globex := newOrg(t, "globex-owner")
	provider := server.CreateAccount(t, acme.Path, "prov")
	imp := server.CreateAccount(t, globex.Path, "imp")
	publishDatabases(t, provider, "acme-only", randomGroup(), "")
	framework.KubectlStdin(t, provider.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bind-acme-only}
rules: [{apiGroups: [apis.accountmesh.io], resources: [apiexports], resourceNames: [acme-only], verbs: [bind]}]
`, "apply", "-f", "-")
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "acme-binds", "--clusterrole=bind-acme-only", "--group=accountmesh:subtree:"+acme.Path)
	framework.KubectlStdin(t, imp.Kubeconfig, impersonatorRoleYAML, "apply", "-f", "-")
	framework.Kubectl(t, imp.Kubeconfig, "create", "clusterrolebinding", "mallory", "--clusterrole=admin", "--user=mallory")
	framework.Kubectl(t, imp.Kubeconfig, "create", "clusterrolebinding", "mallory-imp", "--clusterrole=impersonator", "--user=mallory")

	for _, impersonate := range []rest.ImpersonationConfig{
		{UserName: "mallory", Groups: []string{"accountmesh:subtree:" + acme.Path}},
		{UserName: "mallory", Groups: []string{"a", "b", "c", "accountmesh:subtree:" + acme.Path}}, // four groups: asked as "*"
		{UserName: "mallory", Groups: []string{"accountmesh:account:" + imp.Path}},
	} {
		cfg := userConfig(t, imp.Path, "mallory")
		cfg.Impersonate = impersonate
		_, err := dynamicClient(t, cfg).Resource(apiBindingsGVR).Create(ctx, bindingObject("stolen", provider.Path, "acme-only"), metav1.CreateOptions{})
		require.True(t, apierrors.IsForbidden(err), "impersonating %v: %v", impersonate.Groups, err)
	}
	requireNoBindings(t, imp)
}

// TestSecurityHole4ImpersonationEscapesAccount: impersonation authorised in one account grants
// nothing elsewhere, and system:masters cannot be impersonated by a tenant.
func TestSecurityHole4ImpersonationEscapesAccount(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, "org-owner")
	provider := server.NewAccount(t, "root")
	imp := server.CreateAccount(t, org.Path, "imp")
	publishDatabases(t, provider, "private", randomGroup(), "")
	// bob may bind the private export; mallory may impersonate anyone in her account.
	framework.KubectlStdin(t, provider.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bind-private}
rules: [{apiGroups: [apis.accountmesh.io], resources: [apiexports], resourceNames: [private], verbs: [bind]}]
`, "apply", "-f", "-")
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "bob-binds", "--clusterrole=bind-private", "--user=bob")
	framework.KubectlStdin(t, imp.Kubeconfig, impersonatorRoleYAML, "apply", "-f", "-")
	framework.Kubectl(t, imp.Kubeconfig, "create", "clusterrolebinding", "mallory", "--clusterrole=admin", "--user=mallory")
	framework.Kubectl(t, imp.Kubeconfig, "create", "clusterrolebinding", "mallory-imp", "--clusterrole=impersonator", "--user=mallory")
	framework.Kubectl(t, imp.Kubeconfig, "create", "clusterrolebinding", "bob", "--clusterrole=admin", "--user=bob")

	as := func(impersonate rest.ImpersonationConfig) *rest.Config {
		cfg := userConfig(t, imp.Path, "mallory")
		cfg.Impersonate = impersonate
		return cfg
	}
	// system:masters: refused, in her account and for the process endpoints.
	masters := as(rest.ImpersonationConfig{UserName: "mallory", Groups: []string{"system:masters"}})
	_, err := dynamicClient(t, masters).Resource(apiBindingsGVR).Create(ctx, bindingObject("stolen", provider.Path, "private"), metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "impersonating system:masters: %v", err)
	body, err := kubeClient(t, masters).Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	require.True(t, apierrors.IsForbidden(err), "/metrics as an impersonated system:masters: %v %s", err, body)

	// bob, impersonated in her account: his grant in the provider account is not his there.
	asBob := as(rest.ImpersonationConfig{UserName: "bob"})
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		_, err := kubeClient(t, asBob).CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}, "impersonating bob in her account works")
	_, err = dynamicClient(t, asBob).Resource(apiBindingsGVR).Create(ctx, bindingObject("stolen", provider.Path, "private"), metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "bob's bind grant through impersonation: %v", err)
	require.Contains(t, err.Error(), `user "bob" may not bind APIExport "private"`)
	requireNoBindings(t, imp)

	// bob himself may bind it in the same account: the grant is real.
	_, err = dynamicClient(t, userConfig(t, imp.Path, "bob")).Resource(apiBindingsGVR).Create(ctx, bindingObject("bobs", provider.Path, "private"), metav1.CreateOptions{})
	require.NoError(t, err)
}

// TestSecurityHole5ServiceAccountAtView: a consumer's ServiceAccount token is not accepted at a
// provider view, even where the provider has a ServiceAccount of the same name; the provider's
// own is.
func TestSecurityHole5ServiceAccountAtView(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	publishDatabases(t, provider, "db", group, "")
	bind(t, consumer, "db", provider.Path, "db")
	token := func(acc *framework.Account) string {
		_, err := acc.Kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		tr, err := acc.Kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		require.NoError(t, err)
		return tr.Status.Token
	}
	providerToken, consumerToken := token(provider), token(consumer)
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "robot", "--clusterrole=admin", "--serviceaccount=default:robot")
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "databases"}
	view := func(tok, account string) dynamic.Interface {
		d, err := dynamic.NewForConfig(viewConfig(server.TokenConfig(provider.Path, tok), provider, "db", account))
		require.NoError(t, err)
		return d
	}
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		_, err := view(providerToken, consumer.ClusterID).Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}, "the provider's ServiceAccount reads its view")
	for _, account := range []string{consumer.ClusterID, "*"} {
		_, err := view(consumerToken, account).Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		require.True(t, apierrors.IsUnauthorized(err), "the consumer's token at the view at %s: %v", account, err)
	}
}

// TestSecurityHole6RootTypeBelowRoot: the root type (and the platform's shadow type) cannot be
// used below root, directly, by redefinition or by extension.
func TestSecurityHole6RootTypeBelowRoot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := newOrg(t, "olive")
	olive := userKubeconfig(t, org.Path, "olive")
	d := dynamicClient(t, org.Config)
	for _, typ := range []string{corev1alpha1.TypeRoot, corev1alpha1.TypeShadow} {
		_, stderr, err := framework.KubectlResult(t, olive, accountYAML("second-"+typ, typ, ""), "create", "-f", "-")
		require.Error(t, err, "an account of type %s below root", typ)
		if typ == corev1alpha1.TypeRoot {
			require.Contains(t, stderr, `account type "root" is reserved to the platform`)
		}
		requireAccountAbsent(t, d, "second-"+typ)
	}
	// Not even the platform admin makes a second root.
	_, stderr, err := framework.KubectlResult(t, org.Kubeconfig, accountYAML("admins-root", corev1alpha1.TypeRoot, ""), "create", "-f", "-")
	require.Error(t, err)
	require.Contains(t, stderr, "reserved to the platform")

	for name, manifest := range map[string]string{
		"root":       `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"root"},"spec":{"allowedChildren":["org"]}}`,
		"shadow":     `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"shadow"}}`,
		"fake-root":  `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"fake-root"},"spec":{"extends":"root"}}`,
		"fake-shade": `{"apiVersion":"core.accountmesh.io/v1alpha1","kind":"AccountType","metadata":{"name":"fake-shade"},"spec":{"extends":"shadow"}}`,
	} {
		_, _, err := framework.KubectlResult(t, olive, manifest, "create", "-f", "-")
		require.Error(t, err, "defining %s in an org", name)
		_, err = dynamicClient(t, org.Config).Resource(accountTypesGVR).Get(ctx, name, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%s was not created: %v", name, err)
	}
}

// TestSecurityHole7MetricsLabels: the names a tenant gives its custom resources never show in
// /metrics, while built-in resources keep their labels.
func TestSecurityHole7MetricsLabels(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	suffix := strings.ToLower(framework.RandomName("leak"))
	group := suffix + ".tenant.example.com"
	plural := suffix + "s"
	version := "v" + suffix
	framework.KubectlStdin(t, acc.Kubeconfig, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: `+plural+`.`+group+`}
spec:
  group: `+group+`
  names: {plural: `+plural+`, singular: `+suffix+`, kind: Leak}
  scope: Namespaced
  versions:
  - name: `+version+`
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, "apply", "-f", "-")
	waitEstablished(t, acc.Kubeconfig, plural+"."+group)
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
	d := dynamicClient(t, acc.Config)
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		_, err := d.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}, "the custom resource is served")
	obj := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": group + "/" + version, "kind": "Leak", "metadata": map[string]interface{}{"name": "x"}}}
	_, err := d.Resource(gvr).Namespace("default").Create(ctx, obj, metav1.CreateOptions{})
	require.NoError(t, err)
	w, err := d.Resource(gvr).Namespace("default").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	requireWatchEvent(t, w, "ADDED", "x")
	w.Stop()
	_, err = d.Resource(gvr).Namespace("default").Patch(ctx, "x", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	require.NoError(t, d.Resource(gvr).Namespace("default").Delete(ctx, "x", metav1.DeleteOptions{}))
	_, err = acc.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)

	metrics := scrapeMetrics(t)
	for _, line := range strings.Split(metrics, "\n") {
		require.NotContains(t, line, suffix, "a tenant's name in a metric")
	}
	require.Contains(t, metrics, `resource="configmaps"`, "built-in resources keep their label")
	require.Contains(t, metrics, `group="unexpected"`, "tenants' groups are recorded as unexpected")
}
