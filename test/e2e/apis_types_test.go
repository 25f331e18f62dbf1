package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// schemaYAML is an APIResourceSchema of databases in group, with the given engine property.
func schemaYAML(name, group, engineSchema string) string {
	return `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIResourceSchema
metadata:
  name: ` + name + `
spec:
  group: ` + group + `
  names: {plural: databases, singular: database, kind: Database, listKind: DatabaseList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              engine: ` + engineSchema + `
`
}

// exportYAML is an APIExport of databases.db.example.com described by schema.
func exportYAML(name, schema string) string {
	return `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIExport
metadata:
  name: ` + name + `
spec:
  resources:
  - {group: db.example.com, name: databases, schema: ` + schema + `}
  catalog: {displayName: Databases, categories: [data]}
`
}

// bindingYAML is an APIBinding of the export name in the account path.
func bindingYAML(name, path, export string) string {
	return `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIBinding
metadata:
  name: ` + name + `
spec:
  reference:
    export: {path: "` + path + `", name: ` + export + `}
`
}

// binderRoleYAML is a ClusterRole granting bind on the APIExport export, or on all when empty.
// kubectl create clusterrole refuses bind on resources other than roles.
func binderRoleYAML(name, export string) string {
	names := ""
	if export != "" {
		names = "\n  resourceNames: [" + export + "]"
	}
	return `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ` + name + `
rules:
- apiGroups: [apis.accountmesh.io]
  resources: [apiexports]
  verbs: [bind]` + names + "\n"
}

// TestAPIsTypes creates schemas, exports and bindings with the real kubectl, and checks their
// validation: immutable schema specs and binding references, schemas refused in built-in
// groups or when not structural, with upstream's message.
func TestAPIsTypes(t *testing.T) {
	t.Parallel()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")

	framework.KubectlStdin(t, provider.Kubeconfig, schemaYAML("v1.databases.db.example.com", "db.example.com", "{type: string}"), "create", "-f", "-")
	framework.KubectlStdin(t, provider.Kubeconfig, exportYAML("db", "v1.databases.db.example.com"), "create", "-f", "-")
	out := framework.Kubectl(t, provider.Kubeconfig, "get", "apiresourceschemas")
	require.Regexp(t, `v1.databases.db.example.com\s+db.example.com\s+databases\s+v1\s`, out)
	kubectlEventuallyMatches(t, provider.Kubeconfig, `db\s+[0-9a-f]{8}\s+1\s+True\s`, "get", "apiexports")

	t.Run("schema spec is immutable", func(t *testing.T) {
		out := framework.KubectlFails(t, provider.Kubeconfig, schemaYAML("v1.databases.db.example.com", "db.example.com", "{type: integer}"), "apply", "-f", "-")
		require.Contains(t, out, "spec is immutable; create a new APIResourceSchema")
		framework.Kubectl(t, provider.Kubeconfig, "label", "apiresourceschema", "v1.databases.db.example.com", "tier=gold")
		require.Equal(t, "string", framework.Kubectl(t, provider.Kubeconfig, "get", "apiresourceschema", "v1.databases.db.example.com",
			"-o", "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.engine.type}"))
	})

	t.Run("schemas are validated as CRDs", func(t *testing.T) {
		for _, tc := range []struct{ name, body, want string }{
			{"built-in group", schemaYAML("v1.databases.rbac", "rbac.authorization.k8s.io", "{type: string}"),
				"the group is served by Account Mesh itself; built-in groups ("},
			{"own group", schemaYAML("v1.databases.apis", "apis.accountmesh.io", "{type: string}"), "built-in groups ("},
			{"not structural", schemaYAML("v1.databases.bad", "bad.example.com", "{}"),
				"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[engine].type: Required value: must not be empty for specified object fields"},
			{"protected group", schemaYAML("v1.databases.k8s", "db.k8s.io", "{type: string}"), "protected groups must have approval annotation"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				require.Contains(t, framework.KubectlFails(t, provider.Kubeconfig, tc.body, "create", "-f", "-"), tc.want)
			})
		}
		require.Equal(t, "apiresourceschema.apis.accountmesh.io/v1.databases.db.example.com",
			strings.TrimSpace(framework.Kubectl(t, provider.Kubeconfig, "get", "apiresourceschemas", "-o", "name")), "nothing else was stored")
	})

	t.Run("binding reference is immutable", func(t *testing.T) {
		framework.KubectlStdin(t, consumer.Kubeconfig, bindingYAML("db", provider.Path, "db"), "create", "-f", "-")
		require.Regexp(t, `db\s+`+provider.Path+`:db\s`, framework.Kubectl(t, consumer.Kubeconfig, "get", "apibindings"))
		out := framework.KubectlFails(t, consumer.Kubeconfig, "", "patch", "apibinding", "db", "--type=merge",
			"-p", `{"spec":{"reference":{"export":{"name":"other"}}}}`)
		require.Contains(t, out, "spec.reference: Invalid value: reference is immutable; create a new APIBinding")
		framework.Kubectl(t, consumer.Kubeconfig, "delete", "apibinding", "db")
	})
}

// TestAPIsBindPermission checks who may bind: the verb bind on the export, granted in the
// provider's account or inherited from an ancestor, and the same Forbidden message whether the
// provider account exists or not.
func TestAPIsBindPermission(t *testing.T) {
	t.Parallel()
	org := newOrg(t, "pia")
	provider := server.NewAccount(t, org.Path)
	consumer := server.NewAccount(t, "root")
	framework.KubectlStdin(t, provider.Kubeconfig, schemaYAML("v1.databases.db.example.com", "db.example.com", "{type: string}"), "create", "-f", "-")
	framework.KubectlStdin(t, provider.Kubeconfig, exportYAML("db", "v1.databases.db.example.com"), "create", "-f", "-")
	for _, u := range []string{"bob", "carol", "dave"} {
		framework.Kubectl(t, consumer.Kubeconfig, "create", "clusterrolebinding", u+"-edit", "--clusterrole=edit", "--user="+u)
	}
	bob := userKubeconfig(t, consumer.Path, "bob")
	kubectlEventually(t, bob, "get", "apibindings")

	// Without bind: Forbidden, with the same message for a provider account that does not exist.
	out := framework.KubectlFails(t, bob, bindingYAML("db", provider.Path, "db"), "create", "-f", "-")
	require.Contains(t, out, `spec.reference.export: Forbidden: user "bob" may not bind APIExport "db" of account "`+provider.Path+`"`)
	missing := org.Path + ":does-not-exist"
	out2 := framework.KubectlFails(t, bob, bindingYAML("db", missing, "db"), "create", "-f", "-")
	require.Equal(t, out, strings.ReplaceAll(out2, missing, provider.Path), "a missing provider account must look like a refused one")
	require.Empty(t, framework.Kubectl(t, consumer.Kubeconfig, "get", "apibindings", "-o", "name"), "nothing was stored")

	// A grant of bind on this export in the provider account lets bob bind it, and only it.
	kubectlApply(t, provider.Kubeconfig, binderRoleYAML("db-binder", "db"))
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "bob-binds", "--clusterrole=db-binder", "--user=bob")
	kubectlEventuallyStdin(t, bob, bindingYAML("db", provider.Path, "db"), "create", "-f", "-")
	out = framework.KubectlFails(t, bob, bindingYAML("other", provider.Path, "other"), "create", "-f", "-")
	require.Contains(t, out, `user "bob" may not bind APIExport "other" of account "`+provider.Path+`"`)

	// A grant inherited from the provider's parent lets carol bind; dave, without it, cannot.
	kubectlApply(t, org.Kubeconfig, binderRoleYAML("binder", ""))
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "carol-binds", "--clusterrole=binder", "--user=carol")
	framework.Kubectl(t, org.Kubeconfig, "label", "clusterrolebinding", "carol-binds", "accountmesh.io/inherit=true")
	kubectlEventuallyStdin(t, userKubeconfig(t, consumer.Path, "carol"), bindingYAML("carols", provider.Path, "db"), "create", "-f", "-")
	out = framework.KubectlFails(t, userKubeconfig(t, consumer.Path, "dave"), bindingYAML("daves", provider.Path, "db"), "create", "-f", "-")
	require.Contains(t, out, `user "dave" may not bind APIExport "db" of account "`+provider.Path+`"`)

	// The provider's owner holds bind through admin, and binds in the provider account itself.
	kubectlEventuallyStdin(t, userKubeconfig(t, provider.Path, "pia"), bindingYAML("own", "", "db"), "create", "-f", "-")
}

// kubectlEventuallyMatches runs kubectl until its output matches the regular expression.
func kubectlEventuallyMatches(t *testing.T, kubeconfig, pattern string, args ...string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var out, errOut string
	framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
		out, errOut, _ = framework.KubectlResult(t, kubeconfig, "", args...)
		return re.MatchString(out), nil
	}, "kubectl %s never matched %s: %s%s", strings.Join(args, " "), pattern, func() string { return out }(), func() string { return errOut }())
}

// kubectlEventuallyStdin runs kubectl with stdin until it succeeds, for grants that take effect
// once the authorizer has seen them.
func kubectlEventuallyStdin(t *testing.T, kubeconfig, stdin string, args ...string) {
	t.Helper()
	var errOut string
	framework.Eventually(t, grantTimeout, func(context.Context) (bool, error) {
		_, e, err := framework.KubectlResult(t, kubeconfig, stdin, args...)
		errOut = e
		return err == nil, nil
	}, "kubectl %s kept failing: %s", strings.Join(args, " "), func() string { return errOut }())
}

// TestAPIsBindConsumerGroups checks that a provider opens an export to a subtree of consumer
// accounts by granting bind to its reserved group, and that no user can claim that group.
func TestAPIsBindConsumerGroups(t *testing.T) {
	t.Parallel()
	provider := server.NewAccount(t, "root")
	corg := newOrg(t, "quinn")
	inside := server.NewAccount(t, corg.Path)
	outside := server.NewAccount(t, "root")
	framework.KubectlStdin(t, provider.Kubeconfig, schemaYAML("v1.databases.db.example.com", "db.example.com", "{type: string}"), "create", "-f", "-")
	framework.KubectlStdin(t, provider.Kubeconfig, exportYAML("db", "v1.databases.db.example.com"), "create", "-f", "-")
	kubectlApply(t, provider.Kubeconfig, binderRoleYAML("db-binder", "db"))
	framework.Kubectl(t, provider.Kubeconfig, "create", "clusterrolebinding", "subtree-binds", "--clusterrole=db-binder",
		"--group=accountmesh:subtree:"+corg.Path)
	for _, a := range []*framework.Account{inside, outside} {
		for _, u := range []string{"erin", "mallory"} {
			framework.Kubectl(t, a.Kubeconfig, "create", "clusterrolebinding", u+"-edit", "--clusterrole=edit", "--user="+u)
		}
	}

	erin := userKubeconfig(t, inside.Path, "erin")
	kubectlEventuallyStdin(t, erin, bindingYAML("db", provider.Path, "db"), "create", "-f", "-")
	// Only the binding controller writes status: a consumer cannot claim another export's
	// identity or bound resources.
	out := requireForbidden(t, erin, "patch", "apibinding", "db", "--subresource=status", "--type=merge",
		"-p", `{"status":{"identityHash":"0123456789abcdef0123456789abcdef","boundResources":[{"group":"x.example.com","resource":"xs","schema":"s","schemaUID":"u","storageVersions":["v1"]}]}}`)
	require.Contains(t, out, `cannot patch resource "apibindings/status"`)
	out = framework.KubectlFails(t, userKubeconfig(t, outside.Path, "erin"), bindingYAML("db", provider.Path, "db"), "create", "-f", "-")
	require.Contains(t, out, `user "erin" may not bind APIExport "db" of account "`+provider.Path+`"`)

	// A certificate naming the reserved group does not put mallory in it.
	mallory := userKubeconfig(t, outside.Path, "mallory", "accountmesh:subtree:"+corg.Path)
	kubectlEventually(t, mallory, "get", "apibindings")
	out = framework.KubectlFails(t, mallory, bindingYAML("db", provider.Path, "db"), "create", "-f", "-")
	require.Contains(t, out, `user "mallory" may not bind APIExport "db" of account "`+provider.Path+`"`)
	require.NotContains(t, framework.Kubectl(t, mallory, "auth", "whoami"), "accountmesh:")
}
