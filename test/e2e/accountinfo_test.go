package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// accountInfosGVR is the resource of the AccountInfo singleton.
var accountInfosGVR = schema.GroupVersionResource{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accountinfos"}

// getAccountInfoYAML runs kubectl get accountinfo account -o yaml and parses what it prints.
func getAccountInfoYAML(t *testing.T, kubeconfig string) map[string]interface{} {
	t.Helper()
	out := framework.Kubectl(t, kubeconfig, "get", "accountinfo", "account", "-o", "yaml")
	obj := map[string]interface{}{}
	require.NoError(t, yaml.Unmarshal([]byte(out), &obj), out)
	return obj
}

// accountInfoPlace returns the path, cluster ID and parent of an AccountInfo object.
func accountInfoPlace(t *testing.T, info map[string]interface{}) map[string]interface{} {
	t.Helper()
	spec, ok := info["spec"].(map[string]interface{})
	require.True(t, ok, "no spec in %v", info)
	place := map[string]interface{}{"path": spec["path"], "clusterID": spec["clusterID"]}
	if parent, ok := spec["parent"]; ok {
		place["parent"] = parent
	}
	return place
}

// rootClusterID returns the cluster ID of the root account.
func rootClusterID(t *testing.T) string {
	t.Helper()
	return framework.Kubectl(t, server.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}")
}

// TestAccountInfoTree checks the AccountInfo of root, a child and a grandchild: path, cluster
// ID and parent, by path and by cluster ID URL.
func TestAccountInfoTree(t *testing.T) {
	t.Parallel()
	x := server.NewAccount(t, "root")
	y := server.NewAccount(t, x.Path)
	require.Equal(t, x.Path+":"+y.Name, y.Path)

	root := getAccountInfoYAML(t, server.Kubeconfig)
	require.Equal(t, "core.accountmesh.io/v1alpha1", root["apiVersion"])
	require.Equal(t, "AccountInfo", root["kind"])
	rootPath, _, _ := unstructured.NestedString(root, "spec", "path")
	rootID, _, _ := unstructured.NestedString(root, "spec", "clusterID")
	require.Equal(t, "root", rootPath)
	require.NotEmpty(t, rootID)
	_, hasParent, _ := unstructured.NestedFieldNoCopy(root, "spec", "parent")
	require.False(t, hasParent, "root has no parent: %v", root)

	info := getAccountInfoYAML(t, y.Kubeconfig)
	require.Equal(t, "account", info["metadata"].(map[string]interface{})["name"])
	require.Equal(t, map[string]interface{}{
		"path":      y.Path,
		"clusterID": y.ClusterID,
		"parent":    map[string]interface{}{"path": x.Path, "clusterID": x.ClusterID},
	}, accountInfoPlace(t, info))

	info = getAccountInfoYAML(t, x.Kubeconfig)
	require.Equal(t, map[string]interface{}{
		"path":      x.Path,
		"clusterID": x.ClusterID,
		"parent":    map[string]interface{}{"path": "root", "clusterID": rootID},
	}, accountInfoPlace(t, info))

	// The same account answers at its cluster ID.
	byID := server.WriteKubeconfig(t, y.ClusterID)
	info = getAccountInfoYAML(t, byID)
	require.Equal(t, y.Path, accountInfoPlace(t, info)["path"])
	require.Equal(t, y.ClusterID, accountInfoPlace(t, info)["clusterID"])
	out := framework.Kubectl(t, server.WriteKubeconfig(t, rootID), "get", "accountinfo", "account", "-o", "jsonpath={.spec.path}")
	require.Equal(t, "root", out)

	// Field paths kubectl users reach for.
	out = framework.Kubectl(t, y.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.parent.path}/{.spec.parent.clusterID}")
	require.Equal(t, x.Path+"/"+x.ClusterID, out)
}

// TestAccountInfoReadOnly checks that the AccountInfo singleton can only be read: one object
// named account, NotFound for other names, and MethodNotAllowed for every write.
func TestAccountInfoReadOnly(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig

	t.Run("list", func(t *testing.T) {
		out := framework.Kubectl(t, kc, "get", "accountinfo")
		header, rows := kubectlTable(t, out)
		require.Equal(t, "NAME", header[0], out)
		require.Subset(t, header, []string{"PATH", "CLUSTER ID"}, out)
		require.Len(t, rows, 1, out)
		require.Equal(t, "account", rows[0]["NAME"])
		require.Equal(t, a.Path, rows[0]["PATH"])
		require.Equal(t, a.ClusterID, rows[0]["CLUSTER ID"])

		out = framework.Kubectl(t, kc, "get", "accountinfos", "-o", "name")
		require.Equal(t, "accountinfo.core.accountmesh.io/account\n", out)
		list, err := a.Dynamic.Resource(accountInfosGVR).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		list, err = a.Dynamic.Resource(accountInfosGVR).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=other"})
		require.NoError(t, err)
		require.Empty(t, list.Items)
	})

	t.Run("other names are not found", func(t *testing.T) {
		errOut := framework.KubectlFails(t, kc, "", "get", "accountinfo", "other")
		require.Contains(t, errOut, `Error from server (NotFound): accountinfos.core.accountmesh.io "other" not found`)
		_, err := a.Dynamic.Resource(accountInfosGVR).Get(ctx, "root", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "want NotFound, got %v", err)
	})

	manifest := `apiVersion: core.accountmesh.io/v1alpha1
kind: AccountInfo
metadata: {name: account}
spec: {path: "root:forged", clusterID: forged}
`
	requireMethodNotAllowed := func(t *testing.T, argss ...[]string) {
		t.Helper()
		for _, args := range argss {
			stdin := ""
			if args[len(args)-1] == "-" {
				stdin = manifest
			}
			errOut := framework.KubectlFails(t, kc, stdin, args...)
			require.Contains(t, errOut, "MethodNotAllowed", "kubectl %s", strings.Join(args, " "))
			require.Contains(t, errOut, "the server does not allow this method on the requested resource", "kubectl %s", strings.Join(args, " "))
		}
	}

	t.Run("writes are not allowed", func(t *testing.T) {
		requireMethodNotAllowed(t,
			[]string{"delete", "accountinfo", "account"},
			[]string{"patch", "accountinfo", "account", "--type=merge", "-p", `{"spec":{"path":"root:forged"}}`},
			[]string{"label", "accountinfo", "account", "forged=true"},
			[]string{"annotate", "accountinfo", "account", "forged=true"},
			// Manifest writes use --validate=false: for a kind without PATCH, kubectl's client-side
			// validation asks the CRD API whether the kind is a custom resource, and that API is
			// not served before per-account CRDs land, so kubectl would stop before the server.
			[]string{"apply", "--validate=false", "-f", "-"},
			[]string{"apply", "--validate=false", "--server-side", "-f", "-"},
			[]string{"replace", "--validate=false", "-f", "-"},
			[]string{"create", "--validate=false", "-f", "-"},
		)

		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
		obj.SetKind("AccountInfo")
		obj.SetName("new")
		_, err := a.Dynamic.Resource(accountInfosGVR).Create(ctx, obj, metav1.CreateOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "create: want MethodNotAllowed, got %v", err)
		_, err = a.Dynamic.Resource(accountInfosGVR).Patch(ctx, "account", types.MergePatchType, []byte(`{"spec":{"path":"root:forged"}}`), metav1.PatchOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "patch: want MethodNotAllowed, got %v", err)
		err = a.Dynamic.Resource(accountInfosGVR).Delete(ctx, "account", metav1.DeleteOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "delete: want MethodNotAllowed, got %v", err)
		err = a.Dynamic.Resource(accountInfosGVR).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		require.True(t, apierrors.IsMethodNotSupported(err), "deletecollection: want MethodNotAllowed, got %v", err)

		// The singleton is unchanged.
		info := getAccountInfoYAML(t, kc)
		require.Equal(t, map[string]interface{}{
			"path": a.Path, "clusterID": a.ClusterID, "parent": map[string]interface{}{"path": "root", "clusterID": rootClusterID(t)},
		}, accountInfoPlace(t, info))
		require.NotContains(t, info["metadata"].(map[string]interface{}), "labels")
	})

}

// TestAccountInfoAccounts checks Account objects as the parent sees them: status, the kubectl
// columns, AlreadyExists for a duplicate name and DNS label names.
func TestAccountInfoAccounts(t *testing.T) {
	t.Parallel()
	parent := server.NewAccount(t, "root")
	child := server.NewAccount(t, parent.Path)
	ctx := t.Context()
	kc := parent.Kubeconfig

	t.Run("status", func(t *testing.T) {
		acc, err := parent.Dynamic.Resource(framework.AccountsGVR).Get(ctx, child.Name, metav1.GetOptions{})
		require.NoError(t, err)
		status := map[string]string{}
		for _, f := range []string{"phase", "clusterID", "path", "url"} {
			status[f], _, _ = unstructured.NestedString(acc.Object, "status", f)
		}
		require.Equal(t, map[string]string{
			"phase": "Ready", "clusterID": child.ClusterID, "path": parent.Path + ":" + child.Name, "url": server.URL(child.Path),
		}, status)
		conditions, _, _ := unstructured.NestedSlice(acc.Object, "status", "conditions")
		var ready string
		for _, c := range conditions {
			if c := c.(map[string]interface{}); c["type"] == "Ready" {
				ready, _ = c["status"].(string)
			}
		}
		require.Equal(t, "True", ready, "conditions: %v", conditions)

		// The URL is where the account is served.
		out := framework.Kubectl(t, kc, "get", "account", child.Name, "-o", "jsonpath={.status.url}")
		require.Equal(t, server.URL(child.Path), out)
		out = framework.Kubectl(t, kc, "--server", out, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}")
		require.Equal(t, child.ClusterID, out)
	})

	t.Run("kubectl get accounts", func(t *testing.T) {
		out := framework.Kubectl(t, kc, "get", "accounts")
		header, rows := kubectlTable(t, out)
		require.Equal(t, "NAME", header[0], out)
		require.Subset(t, header, []string{"PHASE", "URL", "AGE"}, out)
		require.NotContains(t, header, "CLUSTER ID", "the cluster ID is a wide column")
		require.Len(t, rows, 1, out)
		require.Equal(t, child.Name, rows[0]["NAME"], out)
		require.Equal(t, "Ready", rows[0]["PHASE"], out)
		require.Equal(t, server.URL(child.Path), rows[0]["URL"], out)

		out = framework.Kubectl(t, kc, "get", "accounts", "-o", "wide")
		header, rows = kubectlTable(t, out)
		require.Contains(t, header, "CLUSTER ID", out)
		require.Equal(t, child.ClusterID, rows[0]["CLUSTER ID"], out)
	})

	t.Run("duplicate name", func(t *testing.T) {
		errOut := framework.KubectlFails(t, kc, "apiVersion: core.accountmesh.io/v1alpha1\nkind: Account\nmetadata: {name: "+child.Name+"}\n", "create", "-f", "-")
		require.Contains(t, errOut, `Error from server (AlreadyExists)`)
		require.Contains(t, errOut, `accounts.core.accountmesh.io "`+child.Name+`" already exists`)

		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
		obj.SetKind("Account")
		obj.SetName(child.Name)
		_, err := parent.Dynamic.Resource(framework.AccountsGVR).Create(ctx, obj, metav1.CreateOptions{})
		require.True(t, apierrors.IsAlreadyExists(err), "want AlreadyExists, got %v", err)

		// The existing account keeps its identity.
		out := framework.Kubectl(t, child.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}")
		require.Equal(t, child.ClusterID, out)
	})

	t.Run("names are DNS labels", func(t *testing.T) {
		for _, name := range []string{"Upper", "with.dot", "under_score", "-leading", strings.Repeat("a", 64)} {
			errOut := framework.KubectlFails(t, kc, "apiVersion: core.accountmesh.io/v1alpha1\nkind: Account\nmetadata: {name: "+name+"}\n", "create", "-f", "-")
			require.Contains(t, errOut, `The Account "`+name+`" is invalid`, name)
			require.Contains(t, errOut, `metadata.name: Invalid value: "`+name+`"`, name)
		}
		out := framework.Kubectl(t, kc, "get", "accounts", "-o", "name")
		require.Equal(t, "account.core.accountmesh.io/"+child.Name+"\n", out, "invalid accounts were created")
	})
}
