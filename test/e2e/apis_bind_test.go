package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// bindTimeout bounds how long a binding may take to be served; the controllers react to watch
// events, so this only guards against a hang.
const bindTimeout = 30 * time.Second

// dbSchemaYAML is the APIResourceSchema <version>.databases.<group>: namespaced Databases with
// an engine (defaulted), a size, printer columns and a status subresource. extraSpec adds
// properties to spec.
func dbSchemaYAML(version, group, extraSpec string) string {
	return `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIResourceSchema
metadata:
  name: ` + version + `.databases.` + group + `
spec:
  group: ` + group + `
  names: {plural: databases, singular: database, kind: Database, listKind: DatabaseList, shortNames: [db], categories: [data]}
  scope: Namespaced
  versions:
  - name: ` + version + `
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Engine, type: string, jsonPath: .spec.engine}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              engine: {type: string, enum: [postgres, mysql], default: postgres, description: The database engine.}
              size: {type: string, enum: [S, M, L]}` + extraSpec + `
          status:
            type: object
            properties:
              endpoint: {type: string}
              conditions:
                type: array
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: {type: string}
                    status: {type: string}
                    reason: {type: string}
                    message: {type: string}
                    lastTransitionTime: {type: string, format: date-time}
`
}

// dbExportYAML is the APIExport name of <group>/databases described by schema, with claims.
func dbExportYAML(name, group, schema, claims string) string {
	return `apiVersion: apis.accountmesh.io/v1alpha1
kind: APIExport
metadata:
  name: ` + name + `
spec:
  resources:
  - {group: ` + group + `, name: databases, schema: ` + schema + `}
  catalog: {displayName: Databases, description: Managed databases., categories: [data]}
` + claims
}

// publishDatabases creates the v1 schema and the export name of databases in group in the
// provider account, waits for the export to be ready, and returns its identity hash.
func publishDatabases(t *testing.T, provider *framework.Account, name, group, claims string) string {
	t.Helper()
	kubectlApply(t, provider.Kubeconfig, dbSchemaYAML("v1", group, ""))
	kubectlApply(t, provider.Kubeconfig, dbExportYAML(name, group, "v1.databases."+group, claims))
	var hash string
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, provider.Kubeconfig, "", "get", "apiexport", name, "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.identityHash}`)
		status, h, _ := strings.Cut(out, " ")
		hash = h
		return err == nil && status == "True" && len(h) == 32, nil
	}, "APIExport %s is not Ready", name)
	return hash
}

// bind creates the APIBinding name of the export providerPath:export in the consumer account
// and waits for it to be Ready.
func bind(t *testing.T, consumer *framework.Account, name, providerPath, export string) {
	t.Helper()
	framework.KubectlStdin(t, consumer.Kubeconfig, bindingYAML(name, providerPath, export), "create", "-f", "-")
	waitBinding(t, consumer, name, "Ready", "True")
}

// waitBinding waits until the binding's condition has the status, and returns its reason and
// message.
func waitBinding(t *testing.T, consumer *framework.Account, name, condition, status string) string {
	t.Helper()
	var out string
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		var err error
		out, _, err = framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "apibinding", name, "-o",
			`jsonpath={.status.conditions[?(@.type=="`+condition+`")].status} {.status.conditions[?(@.type=="`+condition+`")].reason}: {.status.conditions[?(@.type=="`+condition+`")].message}`)
		return err == nil && strings.HasPrefix(out, status+" "), nil
	}, "APIBinding %s never had %s=%s: %s", name, condition, status, func() string { return out }())
	return strings.TrimPrefix(out, status+" ")
}

// waitDiscoverable waits until kubectl in the account finds the resource.
func waitDiscoverable(t *testing.T, kubeconfig, resource string) {
	t.Helper()
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		_, _, err := framework.KubectlResult(t, kubeconfig, "", "get", resource)
		return err == nil, nil
	}, "%s is not served", resource)
}

// TestAPIsBind publishes an export, binds it, and uses the bound resource with kubectl like a
// CRD: discovery, explain, create with defaults, printer columns, server-side apply, status,
// watch and delete; the objects are stored under the export's identity.
func TestAPIsBind(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	hash := publishDatabases(t, provider, "db", group, "")
	require.Equal(t, "db-identity", framework.Kubectl(t, provider.Kubeconfig, "get", "apiexport", "db", "-o", "jsonpath={.spec.identity.secretRef.name}"))
	framework.Kubectl(t, provider.Kubeconfig, "get", "secret", "db-identity", "-n", "default")

	bind(t, consumer, "db", provider.Path, "db")
	out := framework.Kubectl(t, consumer.Kubeconfig, "get", "apibinding", "db", "-o",
		"jsonpath={.status.phase} {.status.exportClusterID} {.status.identityHash} {.status.boundResources[0].resource} {.status.boundResources[0].storageVersions}")
	require.Equal(t, fmt.Sprintf(`Bound %s %s databases ["v1"]`, provider.ClusterID, hash), out)
	require.Regexp(t, `db\s+`+provider.Path+`:db\s+Bound\s+True`, framework.Kubectl(t, consumer.Kubeconfig, "get", "apibindings"))

	waitDiscoverable(t, consumer.Kubeconfig, "databases."+group)
	require.Regexp(t, `databases\s+db\s+`+group+`/v1\s+true\s+Database`, framework.Kubectl(t, consumer.Kubeconfig, "api-resources", "--api-group="+group))
	require.Contains(t, framework.Kubectl(t, consumer.Kubeconfig, "explain", "databases."+group+".spec.engine"), "The database engine.")

	// The provider account itself serves nothing it did not bind.
	_, errOut, err := framework.KubectlResult(t, provider.Kubeconfig, "", "get", "databases."+group)
	require.Error(t, err)
	require.Contains(t, errOut, "the server doesn't have a resource type")

	dbYAML := func(name, extra string) string {
		return fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: %s, namespace: default}\nspec: {size: S%s}\n", group, name, extra)
	}
	framework.KubectlStdin(t, consumer.Kubeconfig, dbYAML("x", ""), "create", "-f", "-")
	header, rows := kubectlTable(t, framework.Kubectl(t, consumer.Kubeconfig, "get", "databases."+group))
	require.Equal(t, []string{"NAME", "ENGINE", "READY"}, header)
	require.Len(t, rows, 1)
	require.Equal(t, "postgres", rows[0]["ENGINE"], "the schema's default is applied")

	// Invalid objects are refused with the schema's message.
	require.Contains(t, framework.KubectlFails(t, consumer.Kubeconfig, dbYAML("bad", ", engine: oracle"), "create", "-f", "-"),
		`spec.engine: Unsupported value: "oracle": supported values: "postgres", "mysql"`)

	// Server-side apply, twice, and a conflicting manager.
	framework.KubectlStdin(t, consumer.Kubeconfig, dbYAML("second", ", engine: mysql"), "apply", "--server-side", "--field-manager=alice", "-f", "-")
	framework.KubectlStdin(t, consumer.Kubeconfig, dbYAML("second", ", engine: mysql"), "apply", "--server-side", "--field-manager=alice", "-f", "-")
	require.Contains(t, framework.KubectlFails(t, consumer.Kubeconfig, dbYAML("second", ", engine: postgres"), "apply", "--server-side", "--field-manager=bob", "-f", "-"),
		`conflict with "alice"`)

	// Status is written through its subresource only.
	dyn, err := framework.DynamicFor(consumer.Config)
	require.NoError(t, err)
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "databases"}
	w, err := dyn.Resource(gvr).Namespace("default").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()
	framework.Kubectl(t, consumer.Kubeconfig, "patch", "databases."+group, "x", "--subresource=status", "--type=merge",
		"-p", `{"status":{"endpoint":"x.db:5432","conditions":[{"type":"Ready","status":"True"}]}}`)
	_, rows = kubectlTable(t, framework.Kubectl(t, consumer.Kubeconfig, "get", "databases."+group, "x"))
	require.Equal(t, "True", rows[0]["READY"])
	requireWatchEvent(t, w, watch.Modified, "x")

	// The object is stored under the export's identity, in the consumer's account.
	resp, err := etcdClient.Get(ctx, "/registry/"+group+"/databases:"+hash+"/"+consumer.ClusterID+"/default/x")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "key of the bound object")
	resp, err = etcdClient.Get(ctx, "/registry/"+group+"/databases/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	require.Empty(t, resp.Kvs, "nothing is stored where a local CRD's objects would be")

	framework.Kubectl(t, consumer.Kubeconfig, "delete", "databases."+group, "x")
	requireWatchEvent(t, w, watch.Deleted, "x")
}

// requireWatchEvent waits for an event of the type on the named object.
func requireWatchEvent(t testing.TB, w watch.Interface, typ watch.EventType, name string) {
	t.Helper()
	timeout := time.After(bindTimeout)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch ended before %s %s", typ, name)
			if m, err := metaName(ev.Object); err == nil && ev.Type == typ && m == name {
				return
			}
		case <-timeout:
			t.Fatalf("no %s event for %s", typ, name)
		}
	}
}

func metaName(obj interface{}) (string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return "", fmt.Errorf("%T has no metadata", obj)
	}
	return m.GetName(), nil
}

// TestAPIsBindConflicts binds two providers of one group/resource: a consumer can bind only one
// of them, each provider's consumers see their own objects, stored apart by export identity; a
// local CRD and a binding of the same resource exclude each other; deleting the accounts leaves
// no key under either identity.
func TestAPIsBindConflicts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	p1 := server.NewAccount(t, "root")
	p2 := server.NewAccount(t, "root")
	c1 := server.NewAccount(t, "root")
	c2 := server.NewAccount(t, "root")
	h1 := publishDatabases(t, p1, "db", group, "")
	h2 := publishDatabases(t, p2, "db", group, "")
	require.NotEqual(t, h1, h2)

	bind(t, c1, "first", p1.Path, "db")
	bind(t, c2, "other", p2.Path, "db")
	framework.KubectlStdin(t, c1.Kubeconfig, bindingYAML("second", p2.Path, "db"), "create", "-f", "-")
	msg := waitBinding(t, c1, "second", "NamingConflicts", "False")
	require.Equal(t, fmt.Sprintf(`NamingConflict: databases.%s is already served in this account by APIBinding "first" (a different export); delete it or bind another export`, group), msg)
	require.Equal(t, "Binding False", framework.Kubectl(t, c1.Kubeconfig, "get", "apibinding", "second", "-o",
		`jsonpath={.status.phase} {.status.conditions[?(@.type=="Ready")].status}`))

	// A second binding of the same export co-owns the resource.
	bind(t, c1, "again", p1.Path, "db")

	for _, c := range []*framework.Account{c1, c2} {
		waitDiscoverable(t, c.Kubeconfig, "databases."+group)
		framework.KubectlStdin(t, c.Kubeconfig, fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: in-%s, namespace: default}\n", group, c.ClusterID), "create", "-f", "-")
		out := strings.TrimSpace(framework.Kubectl(t, c.Kubeconfig, "get", "databases."+group, "-o", "name"))
		require.Equal(t, "database."+group+"/in-"+c.ClusterID, out, "each consumer sees only its own objects")
	}
	for _, k := range []struct {
		hash string
		c    *framework.Account
	}{{h1, c1}, {h2, c2}} {
		resp, err := etcdClient.Get(ctx, "/registry/"+group+"/databases:"+k.hash+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1)
		require.Equal(t, "/registry/"+group+"/databases:"+k.hash+"/"+k.c.ClusterID+"/default/in-"+k.c.ClusterID, string(resp.Kvs[0].Key))
	}

	// A local CRD of a bound resource is not accepted, and is served once the bindings go.
	kubectlApply(t, c2.Kubeconfig, dbCRDYAML(group))
	var cond string
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		cond, _, _ = framework.KubectlResult(t, c2.Kubeconfig, "", "get", "crd", "databases."+group, "-o",
			`jsonpath={.status.conditions[?(@.type=="NamesAccepted")].reason}: {.status.conditions[?(@.type=="NamesAccepted")].message}`)
		return strings.HasPrefix(cond, "BoundResourceConflict"), nil
	}, "the CRD was accepted: %s", func() string { return cond }())
	require.Equal(t, fmt.Sprintf(`BoundResourceConflict: databases.%s is already served in this account by APIBinding "other"`, group), cond)
	require.Equal(t, "in-"+c2.ClusterID, framework.Kubectl(t, c2.Kubeconfig, "get", "databases."+group, "-o", "jsonpath={.items[*].metadata.name}"),
		"the bound resource is still served")

	// The other way round: a binding in an account with the CRD reports the CRD.
	c3 := server.NewAccount(t, "root")
	kubectlApply(t, c3.Kubeconfig, dbCRDYAML(group))
	waitEstablished(t, c3.Kubeconfig, "databases."+group)
	framework.KubectlStdin(t, c3.Kubeconfig, bindingYAML("db", p1.Path, "db"), "create", "-f", "-")
	msg = waitBinding(t, c3, "db", "NamingConflicts", "False")
	require.Contains(t, msg, fmt.Sprintf(`databases.%s is already served in this account by CustomResourceDefinition "databases.%s"`, group, group))

	// Kinds are unique in a group too, across CRDs and bound resources, whichever came first.
	dbsCRD := strings.NewReplacer("name: databases.", "name: dbs.", "plural: databases, singular: database", "plural: dbs, singular: dbx").Replace(dbCRDYAML(group))
	kubectlApply(t, c2.Kubeconfig, dbsCRD)
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		cond, _, _ = framework.KubectlResult(t, c2.Kubeconfig, "", "get", "crd", "dbs."+group, "-o",
			`jsonpath={.status.conditions[?(@.type=="NamesAccepted")].reason}: {.status.conditions[?(@.type=="NamesAccepted")].message}`)
		return strings.HasPrefix(cond, "KindConflict"), nil
	}, "the CRD's kind was accepted: %s", func() string { return cond }())
	require.Equal(t, fmt.Sprintf(`KindConflict: "Database" is already in use by the bound resource databases.%s`, group), cond)
	c4 := server.NewAccount(t, "root")
	kubectlApply(t, c4.Kubeconfig, dbsCRD)
	waitEstablished(t, c4.Kubeconfig, "dbs."+group)
	framework.KubectlStdin(t, c4.Kubeconfig, bindingYAML("db", p1.Path, "db"), "create", "-f", "-")
	require.Equal(t, fmt.Sprintf(`NamingConflict: databases.%s cannot be served in this account: "Database" is already in use by another CustomResourceDefinition of the group (dbs.%s) (KindConflict)`, group, group),
		waitBinding(t, c4, "db", "NamingConflicts", "False"))

	// Deleting the accounts removes their bound objects under both identities.
	for _, c := range []*framework.Account{c1, c2} {
		framework.Kubectl(t, server.Root(t).Kubeconfig, "delete", "account", strings.TrimPrefix(c.Path, "root:"))
	}
	framework.Eventually(t, bindTimeout, func(ctx context.Context) (bool, error) {
		return len(keysOf(ctx, t, c1.ClusterID, c2.ClusterID)) == 0, nil
	}, "keys left behind: %v", func() []string { return keysOf(ctx, t, c1.ClusterID, c2.ClusterID) }())
}

// dbCRDYAML is a local CRD of databases in group.
func dbCRDYAML(group string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: databases.` + group + `
spec:
  group: ` + group + `
  names: {plural: databases, singular: database, kind: Database, listKind: DatabaseList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
}

// TestAPIsUnbind deletes bindings: the account's instances go first, held while one has a
// finalizer (progress in the Unbound condition); a second binding of the same export keeps
// them.
func TestAPIsUnbind(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	hash := publishDatabases(t, provider, "db", group, "")
	bind(t, consumer, "one", provider.Path, "db")
	bind(t, consumer, "two", provider.Path, "db")
	waitDiscoverable(t, consumer.Kubeconfig, "databases."+group)
	framework.KubectlStdin(t, consumer.Kubeconfig, fmt.Sprintf(`apiVersion: %s/v1
kind: Database
metadata: {name: held, namespace: default, finalizers: [example.com/hold]}
---
apiVersion: %s/v1
kind: Database
metadata: {name: free, namespace: default}
`, group, group), "create", "-f", "-")

	// Two bindings of one export: deleting one keeps the instances.
	framework.Kubectl(t, consumer.Kubeconfig, "delete", "apibinding", "one")
	require.Equal(t, "free held", framework.Kubectl(t, consumer.Kubeconfig, "get", "databases."+group, "-o", "jsonpath={.items[*].metadata.name}"))

	framework.Kubectl(t, consumer.Kubeconfig, "delete", "apibinding", "two", "--wait=false")
	// The first pass counts both objects; the next ones the one held by its finalizer.
	want := fmt.Sprintf("False InstancesRemaining: 1 databases.%s remain; waiting for their finalizers", group)
	var msg string
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		msg = framework.Kubectl(t, consumer.Kubeconfig, "get", "apibinding", "two", "-o",
			`jsonpath={.status.conditions[?(@.type=="Unbound")].status} {.status.conditions[?(@.type=="Unbound")].reason}: {.status.conditions[?(@.type=="Unbound")].message}`)
		return msg == want, nil
	}, "Unbound is %q, want %q", func() string { return msg }(), want)
	require.Equal(t, "Unbinding", framework.Kubectl(t, consumer.Kubeconfig, "get", "apibinding", "two", "-o", "jsonpath={.status.phase}"))
	// Nothing new may be created while unbinding.
	require.Contains(t, framework.KubectlFails(t, consumer.Kubeconfig, fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: late, namespace: default}\n", group), "create", "-f", "-"),
		`create not allowed while APIBinding "two" is being deleted`)

	framework.Kubectl(t, consumer.Kubeconfig, "patch", "databases."+group, "held", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		_, errOut, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "apibinding", "two")
		return err != nil && strings.Contains(errOut, "NotFound"), nil
	}, "the binding was not deleted")
	resp, err := etcdClient.Get(ctx, "/registry/"+group+"/databases:"+hash+"/"+consumer.ClusterID+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	require.Empty(t, resp.Kvs)
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		_, errOut, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "databases."+group)
		return err != nil && strings.Contains(errOut, "the server doesn't have a resource type"), nil
	}, "the resource is still served after unbinding")
}

// TestAPIsSchemaEvolution points an export at new schemas: existing bindings follow, a new
// field appears in explain, objects stay readable; a version the schema drops is no longer
// served, while its objects read in the new version.
func TestAPIsSchemaEvolution(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	publishDatabases(t, provider, "db", group, "")
	bind(t, consumer, "db", provider.Path, "db")
	waitDiscoverable(t, consumer.Kubeconfig, "databases."+group)
	framework.KubectlStdin(t, consumer.Kubeconfig, fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: old, namespace: default}\nspec: {size: M}\n", group), "create", "-f", "-")

	// v1 gains spec.backup.
	backup := "\n              backup: {type: boolean, description: Whether backups are taken.}"
	kubectlApply(t, provider.Kubeconfig, strings.Replace(dbSchemaYAML("v1", group, backup), "name: v1.databases.", "name: v2.databases.", 1))
	kubectlApply(t, provider.Kubeconfig, dbExportYAML("db", group, "v2.databases."+group, ""))
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "explain", "databases."+group+".spec.backup")
		return err == nil && strings.Contains(out, "Whether backups are taken."), nil
	}, "spec.backup did not appear")
	require.Equal(t, "v2.databases."+group, framework.Kubectl(t, consumer.Kubeconfig, "get", "apibinding", "db", "-o", "jsonpath={.status.boundResources[0].schema}"))
	require.Equal(t, "M", framework.Kubectl(t, consumer.Kubeconfig, "get", "databases."+group, "old", "-o", "jsonpath={.spec.size}"))
	framework.KubectlStdin(t, consumer.Kubeconfig, fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata: {name: new, namespace: default}\nspec: {backup: true}\n", group), "create", "-f", "-")

	// The next schema serves v2 only.
	kubectlApply(t, provider.Kubeconfig, strings.Replace(dbSchemaYAML("v2", group, backup), "name: v2.databases.", "name: v3.databases.", 1))
	kubectlApply(t, provider.Kubeconfig, dbExportYAML("db", group, "v3.databases."+group, ""))
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		out, _, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "apibinding", "db", "-o", "jsonpath={.status.boundResources[0].storageVersions}")
		return err == nil && out == `["v1","v2"]`, nil
	}, "the binding did not record the new storage version")
	framework.Eventually(t, bindTimeout, func(context.Context) (bool, error) {
		_, errOut, err := framework.KubectlResult(t, consumer.Kubeconfig, "", "get", "--raw", "/apis/"+group+"/v1/namespaces/default/databases")
		return err != nil && strings.Contains(errOut, "NotFound"), nil
	}, "v1 is still served")
	require.NotContains(t, framework.Kubectl(t, consumer.Kubeconfig, "api-versions"), group+"/v1\n")
	require.Equal(t, group+"/v2 M", framework.Kubectl(t, consumer.Kubeconfig, "get", "databases.v2."+group, "old", "-o",
		"jsonpath={.apiVersion} {.spec.size}"), "objects stored as v1 read as v2")
	require.Equal(t, "true", framework.Kubectl(t, consumer.Kubeconfig, "get", "databases.v2."+group, "new", "-o", "jsonpath={.spec.backup}"))

	// A schema whose objects cannot follow (another scope) is refused; bindings keep serving.
	clusterScoped := strings.Replace(strings.Replace(dbSchemaYAML("v2", group, backup), "name: v2.databases.", "name: v4.databases.", 1), "scope: Namespaced", "scope: Cluster", 1)
	kubectlApply(t, provider.Kubeconfig, clusterScoped)
	kubectlApply(t, provider.Kubeconfig, dbExportYAML("db", group, "v4.databases."+group, ""))
	kubectlEventuallyMatches(t, provider.Kubeconfig, `^False IncompatibleSchemaChange: schema "v4.databases.`+group+`" changes the scope from Namespaced to Cluster`,
		"get", "apiexport", "db", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}`)
	require.Contains(t, waitBinding(t, consumer, "db", "Ready", "False"), "ExportNotReady")
	require.Equal(t, "Bound v3.databases."+group, framework.Kubectl(t, consumer.Kubeconfig, "get", "apibinding", "db", "-o", "jsonpath={.status.phase} {.status.boundResources[0].schema}"))
	require.Equal(t, "M", framework.Kubectl(t, consumer.Kubeconfig, "get", "databases."+group, "old", "-o", "jsonpath={.spec.size}"))
}
