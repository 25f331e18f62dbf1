package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/accountmesh/accountmesh/pkg/backup"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// readBackup returns the manifest of an archive and the objects of each of its files.
func readBackup(t *testing.T, file string) (backup.Manifest, map[string][]unstructured.Unstructured) {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	m, files, err := backup.Read(f)
	require.NoError(t, err)
	return *m, files
}

// has tells whether objs holds an object of kind with name.
func has(objs []unstructured.Unstructured, apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	for i, o := range objs {
		if o.GetAPIVersion() == apiVersion && o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return &objs[i]
		}
	}
	return nil
}

// TestBackup backs up a subtree (an account with a child) with `accountmesh backup`: the
// archive's manifest names the format version, the revision and both accounts with their
// cluster IDs, and each account's file holds its own objects (Secrets with their data, CRDs
// and custom resources, RBAC, the child's Account object) and nothing of a sibling; computed
// objects (AccountInfo, built-in roles) are left out.
func TestBackup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	top := server.NewAccount(t, "root")
	child := server.CreateAccount(t, top.Path, "child")
	sibling := server.NewAccount(t, "root")
	_, err := top.Kube.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data: map[string][]byte{"password": []byte("hunter2")}}, metav1.CreateOptions{})
	require.NoError(t, err)
	applyWidgetCRD(t, top, "backup.example.com", "")
	framework.KubectlStdin(t, top.Kubeconfig, "apiVersion: backup.example.com/v1\nkind: Widget\nmetadata: {name: g, namespace: default}\nspec: {size: 3}\n", "create", "-f", "-")
	framework.Kubectl(t, top.Kubeconfig, "create", "rolebinding", "readers", "--clusterrole=view", "--user=alice", "-n", "default")
	framework.Kubectl(t, child.Kubeconfig, "create", "configmap", "in-child", "--from-literal=a=1")
	framework.Kubectl(t, sibling.Kubeconfig, "create", "configmap", "in-sibling", "--from-literal=a=1")

	bin, err := framework.Binary()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "backup.tar.gz")
	cmd := exec.CommandContext(ctx, bin, "backup", "--kubeconfig", server.Kubeconfig, "--account", top.Path, "--out", out)
	stdout, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", stdout)
	require.Contains(t, string(stdout), "backed up 2 accounts")

	m, files := readBackup(t, out)
	require.Equal(t, backup.Kind, m.Kind)
	require.Equal(t, backup.FormatVersion, m.FormatVersion)
	require.Equal(t, top.Path, m.Account)
	require.NotEmpty(t, m.ResourceVersion)
	require.Len(t, m.Accounts, 2)
	require.Equal(t, top.Path, m.Accounts[0].Path)
	require.Equal(t, top.ClusterID, m.Accounts[0].ClusterID)
	require.Equal(t, child.Path, m.Accounts[1].Path)
	require.Equal(t, child.ClusterID, m.Accounts[1].ClusterID)

	topObjs, childObjs := files[m.Accounts[0].File], files[m.Accounts[1].File]
	require.Len(t, topObjs, m.Accounts[0].Objects)
	s := has(topObjs, "v1", "Secret", "default", "creds")
	require.NotNil(t, s, "the Secret is missing")
	data, _, _ := unstructured.NestedString(s.Object, "data", "password")
	require.Equal(t, "aHVudGVyMg==", data)
	require.NotNil(t, has(topObjs, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.backup.example.com"))
	require.NotNil(t, has(topObjs, "backup.example.com/v1", "Widget", "default", "g"))
	require.NotNil(t, has(topObjs, "rbac.authorization.k8s.io/v1", "RoleBinding", "default", "readers"))
	require.NotNil(t, has(topObjs, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "accountmesh:owner"))
	require.NotNil(t, has(topObjs, "core.accountmesh.io/v1alpha1", "Account", "", "child"))
	require.NotNil(t, has(topObjs, "v1", "Namespace", "", "default"))
	require.Nil(t, has(topObjs, "core.accountmesh.io/v1alpha1", "AccountInfo", "", "account"), "computed AccountInfo backed up")
	require.Nil(t, has(topObjs, "rbac.authorization.k8s.io/v1", "ClusterRole", "", "admin"), "built-in role backed up")
	require.NotNil(t, has(childObjs, "v1", "ConfigMap", "default", "in-child"))
	for name, objs := range files {
		for _, o := range objs {
			require.NotEqual(t, "in-sibling", o.GetName(), "%s holds the sibling's ConfigMap", name)
			require.Contains(t, []string{top.ClusterID, child.ClusterID}, o.GetAnnotations()["accountmesh.io/cluster"],
				"%s holds %s %s of another account", name, o.GetKind(), o.GetName())
		}
	}
	require.Nil(t, has(topObjs, "v1", "ConfigMap", "default", "in-child"), "the child's object is in its parent's file")

	// Restored under another name (an org's type allows only root as its parent), the
	// subtree holds the same objects.
	copyName := framework.RandomName("e2e-copy-")
	restoreAndCompare(t, bin, out, copyName, m, files)

	// Restored in place after the original was deleted, the subtree is back as it was.
	deleteRootAccount(t, top.Name)
	restoreAndCompare(t, bin, out, top.Name, m, files)
}

// deleteRootAccount deletes the account name in root and waits until it is gone.
func deleteRootAccount(t *testing.T, name string) {
	t.Helper()
	d, err := framework.DynamicFor(server.ConfigFor("root"))
	require.NoError(t, err)
	require.NoError(t, d.Resource(framework.AccountsGVR).Delete(t.Context(), name, metav1.DeleteOptions{}))
	framework.Eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := d.Resource(framework.AccountsGVR).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}, "account %s was not deleted", name)
}

// restoreAndCompare restores the archive out (manifest m, objects files) into root as name,
// backs the copy up, and compares it with the original object for object, but for what the
// server sets (uid, resource version, times, managed fields, the cluster annotation); the
// copy has new cluster IDs, bindings to exports of the subtree name the copy's accounts, and
// exports have new identity keys. It returns what the restore printed.
func restoreAndCompare(t *testing.T, bin, out, name string, m backup.Manifest, files map[string][]unstructured.Unstructured) string {
	t.Helper()
	ctx := t.Context()
	stdout, err := exec.CommandContext(ctx, bin, "restore", "--kubeconfig", server.Kubeconfig, "--from", out, "--into", "root", "--name", name).CombinedOutput()
	require.NoError(t, err, "%s", stdout)
	require.Contains(t, string(stdout), fmt.Sprintf("restored %d accounts", len(m.Accounts)))
	again := filepath.Join(t.TempDir(), "again.tar.gz")
	backedUp, err := exec.CommandContext(ctx, bin, "backup", "--kubeconfig", server.Kubeconfig, "--account", "root:"+name, "--out", again).CombinedOutput()
	require.NoError(t, err, "%s", backedUp)
	m2, files2 := readBackup(t, again)
	require.Len(t, m2.Accounts, len(m.Accounts))
	for i := range m.Accounts {
		require.NotEqual(t, m.Accounts[i].ClusterID, m2.Accounts[i].ClusterID)
		require.Equal(t, comparable(files[m.Accounts[i].File], m.Account, "root:"+name), comparable(files2[m2.Accounts[i].File], "", ""),
			"account %s restored as %s differs", m.Accounts[i].Path, m2.Accounts[i].Path)
	}
	return string(stdout)
}

// comparable returns objs by kind, namespace and name, without what the server sets;
// bindings' references to the subtree oldTop are rewritten to newTop, and exports' identity
// keys (new in a copy) are left out but for their names.
func comparable(objs []unstructured.Unstructured, oldTop, newTop string) map[string]map[string]any {
	identities := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "APIExport" {
			ns, _, _ := unstructured.NestedString(o.Object, "spec", "identity", "secretRef", "namespace")
			name, _, _ := unstructured.NestedString(o.Object, "spec", "identity", "secretRef", "name")
			identities[ns+"/"+name] = true
		}
	}
	out := map[string]map[string]any{}
	for _, o := range objs {
		o := o.DeepCopy()
		for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"} {
			unstructured.RemoveNestedField(o.Object, "metadata", f)
		}
		unstructured.RemoveNestedField(o.Object, "metadata", "annotations", "accountmesh.io/cluster")
		if len(o.GetAnnotations()) == 0 {
			unstructured.RemoveNestedField(o.Object, "metadata", "annotations")
		}
		unstructured.RemoveNestedField(o.Object, "status")
		if o.GetKind() == "Secret" && identities[o.GetNamespace()+"/"+o.GetName()] {
			unstructured.RemoveNestedField(o.Object, "data")
		}
		if path, ok, _ := unstructured.NestedString(o.Object, "spec", "reference", "export", "path"); ok && o.GetKind() == "APIBinding" && oldTop != "" {
			if path == oldTop || strings.HasPrefix(path, oldTop+":") {
				_ = unstructured.SetNestedField(o.Object, newTop+strings.TrimPrefix(path, oldTop), "spec", "reference", "export", "path")
			}
		}
		out[o.GetAPIVersion()+"/"+o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o.Object
	}
	return out
}
