package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// sharedServiceYAML makes an export a Shared managed service writing secrets back.
const sharedServiceYAML = `  service:
    model: Shared
    relatedResources: [{group: "", resource: secrets}]
`

// serviceStatus returns a binding's shadow account cluster ID, shadow account path and tenant
// space, space-separated.
func serviceStatus(t *testing.T, consumer *framework.Account, name string) []string {
	t.Helper()
	out := framework.Kubectl(t, consumer.Kubeconfig, "get", "apibinding", name, "-o",
		`jsonpath={.status.shadowAccount.clusterID} {.status.shadowAccount.path} {.status.tenantSpace.namespace}`)
	return strings.Split(out, " ")
}

// shadowAccounts returns the names of the shadow accounts of a provider account, with their
// consumer-org label, as name=org.
func shadowAccounts(t *testing.T, provider *framework.Account) []string {
	t.Helper()
	out := framework.Kubectl(t, provider.Kubeconfig, "get", "accounts", "-l", "accountmesh.io/consumer-org", "-o",
		`jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.accountmesh\.io/consumer-org}/{.spec.type}{"\n"}{end}`)
	return strings.Fields(out)
}

// TestManagedServiceShared: two consumer organisations bind a Shared managed service from three
// accounts. Each organisation gets one shadow account in the provider account, named after its
// cluster ID, of type shadow, whose AccountInfo names it and the export; each binding gets its
// tenant space, labelled with its name, and ServiceConnected. The model cannot switch while
// consumers exist. Unbinding removes the tenant space; the shadow account goes with the
// organisation's last binding, or with the organisation.
func TestManagedServiceShared(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	p := server.NewAccount(t, "root")
	o1, o2 := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	a1, b1, a2 := server.NewAccount(t, o1.Path), server.NewAccount(t, o1.Path), server.NewAccount(t, o2.Path)
	publishDatabases(t, p, "db", group, sharedServiceYAML)

	for _, c := range []*framework.Account{a1, b1, a2} {
		bind(t, c, "db", p.Path, "db")
		waitBinding(t, c, "db", "ServiceConnected", "True")
	}
	require.ElementsMatch(t, []string{
		"consumer-" + o1.ClusterID + "=" + o1.ClusterID + "/shadow",
		"consumer-" + o2.ClusterID + "=" + o2.ClusterID + "/shadow",
	}, shadowAccounts(t, p))

	s1, s1b, s2 := serviceStatus(t, a1, "db"), serviceStatus(t, b1, "db"), serviceStatus(t, a2, "db")
	require.Equal(t, s1, s1b, "one organisation, one shadow account")
	require.NotEqual(t, s1[0], s2[0])
	require.Equal(t, p.Path+":consumer-"+o1.ClusterID, s1[1])
	require.Equal(t, "db", s1[2])
	info := framework.Kubectl(t, server.WriteKubeconfig(t, s1[0]), "get", "accountinfo", "account", "-o",
		`jsonpath={.spec.type} {.spec.consumer.organization.path} {.spec.consumer.organization.clusterID} {.spec.consumer.exports}`)
	require.Equal(t, `shadow `+o1.Path+` `+o1.ClusterID+` ["db"]`, info)

	for _, c := range []*framework.Account{a1, b1, a2} {
		ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, "db", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "db", ns.Labels["accountmesh.io/tenant-space"])
	}
	_, rows := kubectlTable(t, framework.Kubectl(t, a1.Kubeconfig, "get", "apibindings", "-o", "wide"))
	require.Len(t, rows, 1)
	require.Equal(t, "db", rows[0]["TENANT SPACE"])
	require.Equal(t, s1[1], rows[0]["SHADOW ACCOUNT"])

	// kubectl mesh tree marks the shadow accounts.
	tree := mesh(t, p.Kubeconfig, "tree", p.Path)
	require.Contains(t, tree, "consumer-"+o1.ClusterID+" (shadow, Ready) [shadow account of organisation "+o1.ClusterID+"]")
	require.Contains(t, tree, "consumer-"+o2.ClusterID+" (shadow, Ready) [shadow account of organisation "+o2.ClusterID+"]")

	// An operator holding content rights on the export finds the shadow accounts among her
	// accessible accounts, as admin there; the consumer's admin does not.
	operator, consumer := framework.RandomName("operator-"), framework.RandomName("consumer-")
	grantContent(t, p, "db", "--user="+operator)
	grantRole(t, o1, "admin", "--user="+consumer, true)
	accessible := func(user string) []string {
		return strings.Fields(framework.Kubectl(t, userKubeconfig(t, "root", user), "get", "accessibleaccounts", "-o", "jsonpath={.items[*].spec.path}"))
	}
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		got := accessible(operator)
		return slices.Contains(got, s1[1]) && slices.Contains(got, s2[1]), nil
	}, "the content holder's accessible accounts lack the shadow accounts")
	got := accessible(consumer)
	require.Contains(t, got, a1.Path)
	require.NotContains(t, got, s1[1])

	// The provider sees both fields in its view's apibindings.
	view := server.ConfigFor("root")
	view.Host = strings.TrimSuffix(view.Host, "/clusters/root") + "/services/export/" + p.Path + "/db/clusters/" + a2.ClusterID
	body, err := kubeClient(t, view).Discovery().RESTClient().Get().AbsPath("/apis/apis.accountmesh.io/v1alpha1/apibindings/db").DoRaw(ctx)
	require.NoError(t, err)
	require.Contains(t, string(body), `"tenantSpace":{"namespace":"db"}`)
	require.Contains(t, string(body), `"clusterID":"`+s2[0]+`"`)

	// The model cannot switch under consumers, nor can the service go.
	out := framework.KubectlFails(t, p.Kubeconfig, "", "patch", "apiexport", "db", "--type=merge", "-p", `{"spec":{"service":{"model":"Dedicated"}}}`)
	require.Contains(t, out, "the model cannot change")
	out = framework.KubectlFails(t, p.Kubeconfig, "", "patch", "apiexport", "db", "--type=json", "-p", `[{"op":"remove","path":"/spec/service"}]`)
	require.Contains(t, out, "cannot stop being a managed service")

	// Unbinding removes the tenant space; the organisation keeps its shadow account while it
	// binds elsewhere.
	framework.Kubectl(t, a1.Kubeconfig, "delete", "apibinding", "db", "--wait=true")
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		_, err := a1.Kube.CoreV1().Namespaces().Get(ctx, "db", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "the tenant space of a deleted binding stayed")
	require.Len(t, shadowAccounts(t, p), 2)
	// The last binding of o1 goes: so does its shadow account.
	framework.Kubectl(t, b1.Kubeconfig, "delete", "apibinding", "db", "--wait=true")
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		return len(shadowAccounts(t, p)) == 1, nil
	}, "the shadow account of an organisation without bindings stayed")
	// Deleting o2 deletes its shadow account.
	framework.Kubectl(t, server.WriteKubeconfig(t, "root"), "delete", "account", o2.Name, "--wait=false")
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		return len(shadowAccounts(t, p)) == 0, nil
	}, "the shadow account of a deleted organisation stayed")
}

// TestManagedServiceTenantSpaceConflict: a namespace of the tenant space's name that is not the
// binding's is reported and left as it is; once it is gone, the tenant space is created.
func TestManagedServiceTenantSpaceConflict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	p, c := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	publishDatabases(t, p, "db", group, sharedServiceYAML)
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: map[string]string{"mine": "yes"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	bind(t, c, "db", p.Path, "db")
	// The status and the reason, as waitBinding matches them.
	msg := waitBinding(t, c, "db", "ServiceConnected", "False TenantSpaceConflict:")
	require.Contains(t, msg, `namespace "db" exists and is not this binding's tenant space`)
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, "db", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "yes", ns.Labels["mine"])
	require.NotContains(t, ns.Labels, "accountmesh.io/tenant-space")
	require.Empty(t, ns.OwnerReferences)
	require.Empty(t, serviceStatus(t, c, "db")[2], "a conflicting namespace is no tenant space")

	framework.Kubectl(t, c.Kubeconfig, "delete", "namespace", "db", "--wait=true")
	waitBinding(t, c, "db", "ServiceConnected", "True")
	ns, err = c.Kube.CoreV1().Namespaces().Get(ctx, "db", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "db", ns.Labels["accountmesh.io/tenant-space"])
}

// TestManagedServiceRestart crashes the server (kill -9) while the controllers connect two
// bindings of one organisation, as soon as the shadow account exists, and again right after
// both are deleted: after each restart, the organisation has exactly one shadow account and
// each binding its tenant space, and then neither. The second binding's tenant space is held
// up by a namespace of its name, so that the first crash falls between the creation of the
// shadow account and that of its tenant space.
func TestManagedServiceRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := framework.StartServer(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	group := randomGroup()
	p := s.CreateAccount(t, "root", "prov")
	org := s.CreateAccount(t, "root", "acme")
	consumers := []*framework.Account{s.CreateAccount(t, org.Path, "a"), s.CreateAccount(t, org.Path, "b")}
	publishDatabases(t, p, "db", group, sharedServiceYAML)
	_, err = consumers[1].Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "db"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, c := range consumers {
		framework.KubectlStdin(t, c.Kubeconfig, bindingYAML("db", p.Path, "db"), "create", "-f", "-")
	}
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		return len(shadowAccounts(t, p)) > 0, nil
	}, "no shadow account was created")
	waitBinding(t, consumers[1], "db", "ServiceConnected", "False TenantSpaceConflict:")
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		return serviceStatus(t, consumers[1], "db")[0] != "", nil
	}, "the held-up binding does not name its shadow account")
	s.Kill()
	require.NoError(t, s.Start(ctx))
	// Kubeconfigs follow the restarted server's port.
	now := func(a *framework.Account) *framework.Account {
		return &framework.Account{Path: a.Path, ClusterID: a.ClusterID, Kubeconfig: s.WriteKubeconfig(t, a.Path), Kube: kubeClient(t, s.ConfigFor(a.Path))}
	}
	p = now(p)
	for i, c := range consumers {
		consumers[i] = now(c)
	}
	// The held-up binding is still held up after the crash, and connects once the namespace goes.
	waitBinding(t, consumers[1], "db", "ServiceConnected", "False TenantSpaceConflict:")
	framework.Kubectl(t, consumers[1].Kubeconfig, "delete", "namespace", "db", "--wait=true")
	for _, c := range consumers {
		waitBinding(t, c, "db", "ServiceConnected", "True")
		ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, "db", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "db", ns.Labels["accountmesh.io/tenant-space"])
	}
	require.Equal(t, []string{"consumer-" + org.ClusterID + "=" + org.ClusterID + "/shadow"}, shadowAccounts(t, p))
	require.Equal(t, serviceStatus(t, consumers[0], "db")[0], serviceStatus(t, consumers[1], "db")[0])

	for _, c := range consumers {
		framework.Kubectl(t, c.Kubeconfig, "delete", "apibinding", "db", "--wait=false")
	}
	s.Kill()
	require.NoError(t, s.Start(ctx))
	p = now(p)
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		return len(shadowAccounts(t, p)) == 0, nil
	}, "the shadow account stayed after a restart")
	for _, c := range consumers {
		c = now(c)
		framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
			_, err := c.Kube.CoreV1().Namespaces().Get(ctx, "db", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}, "the tenant space stayed after a restart")
	}
}

// TestManagedServiceDedicated: a consumer organisation binds a Dedicated managed service. The
// platform creates a ServiceInstance named after the export in the organisation's shadow
// account, which the provider's controller reads with a provider ServiceAccount token and
// reports on (nobody but the platform creates one or changes its spec); the binding shows the
// report as InstanceReady. The consumer cannot see it.
func TestManagedServiceDedicated(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	p, o := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	c := server.NewAccount(t, o.Path)
	publishDatabases(t, p, "db", group, "  service:\n    model: Dedicated\n")
	grantContent(t, p, "db", "--serviceaccount=default:ctrl")
	ctrl := tokenActor(t, "provider-controller", serviceAccountToken(t, p, "ctrl"))

	bind(t, c, "db", p.Path, "db")
	waitBinding(t, c, "db", "ServiceConnected", "True")
	msg := waitBinding(t, c, "db", "InstanceReady", "False InstancePending:")
	require.Contains(t, msg, "not reported")
	shadow := serviceStatus(t, c, "db")[0]
	instance := "/clusters/" + shadow + "/apis/apis.accountmesh.io/v1alpha1/serviceinstances/db"
	eventuallyAllowed(t, ctrl, instance)
	code, body := ctrl.do(t, http.MethodGet, instance, nil, "")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"consumer":{"path":"`+o.Path+`","clusterID":"`+o.ClusterID+`"}`)
	require.Contains(t, body, `"export":"db"`)

	// Only the platform creates ServiceInstances or changes their spec.
	code, body = ctrl.do(t, http.MethodPost, "/clusters/"+shadow+"/apis/apis.accountmesh.io/v1alpha1/serviceinstances", nil,
		`{"apiVersion":"apis.accountmesh.io/v1alpha1","kind":"ServiceInstance","metadata":{"name":"other"},"spec":{"consumer":{"path":"x","clusterID":"x"},"export":"db"}}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body, "only the platform creates ServiceInstances")
	code, body = ctrl.do(t, http.MethodPatch, instance, mergePatch, `{"spec":{"export":"other"}}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	// The consumer reads nothing of it.
	co := certActor(t, framework.RandomName("cora-"))
	grantRole(t, c, "admin", "--user="+co.name, false)
	eventuallyAllowed(t, co, "/clusters/"+c.Path+"/api/v1/namespaces")
	code, _ = co.do(t, http.MethodGet, instance, nil, "")
	require.Equal(t, http.StatusForbidden, code)

	// The provider deploys the instance and reports on it; the binding shows the report.
	code, body = ctrl.do(t, http.MethodPatch, instance+"/status", mergePatch,
		`{"status":{"endpoint":"postgres://db.example:5432","conditions":[{"type":"Ready","status":"True","reason":"Deployed","message":"serving","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`)
	require.Equal(t, http.StatusOK, code, body)
	msg = waitBinding(t, c, "db", "InstanceReady", "True Deployed:")
	require.Contains(t, msg, "serving")
	_, rows := kubectlTable(t, framework.Kubectl(t, server.WriteKubeconfig(t, shadow), "get", "serviceinstances"))
	require.Len(t, rows, 1)
	require.Equal(t, "True", rows[0]["READY"])
	require.Equal(t, "postgres://db.example:5432", rows[0]["ENDPOINT"])
}
