package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/backup"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// craftedArchive returns a backup archive of one account, path, holding objects.
func craftedArchive(t *testing.T, path string, objects ...map[string]any) *bytes.Buffer {
	t.Helper()
	var lines []byte
	for _, o := range objects {
		b, err := json.Marshal(o)
		require.NoError(t, err)
		lines = append(append(lines, b...), '\n')
	}
	manifest, err := json.Marshal(backup.Manifest{Kind: backup.Kind, FormatVersion: backup.FormatVersion, Account: path,
		Accounts: []backup.Account{{Path: path, ClusterID: "whatever", File: "accounts/a.jsonl", Objects: len(objects)}}})
	require.NoError(t, err)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{backup.ManifestFile, manifest}, {"accounts/a.jsonl", lines}} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data))}))
		_, err := tw.Write(f.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return &buf
}

// TestHostileBackup (R27): backup and restore act with the caller's rights only. The admin
// of an account cannot back up a sibling (the same Forbidden as for an account that does not
// exist, and no archive), and a crafted archive restored into its own account cannot create
// what the caller could not create by hand (a ClusterRole granting everything).
func TestHostileBackup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	sibling := server.NewAccount(t, "root")
	user := "backup-thief-" + acc.Name
	grantRole(t, acc, "admin", "--user="+user, false)
	cfg := userConfig(t, acc.Path, user)

	var out bytes.Buffer
	_, errSibling := backup.Write(ctx, cfg, sibling.Path, &out)
	require.True(t, apierrors.IsForbidden(errSibling), "backing up a sibling: %v", errSibling)
	require.Zero(t, out.Len(), "a refused backup wrote something")
	_, errMissing := backup.Write(ctx, cfg, "root:no-such-account-x", io.Discard)
	require.True(t, apierrors.IsForbidden(errMissing), "backing up a missing account: %v", errMissing)
	require.Equal(t, strings.ReplaceAll(errSibling.Error(), sibling.Path, "P"), strings.ReplaceAll(errMissing.Error(), "root:no-such-account-x", "P"),
		"a sibling and a missing account are told apart")

	archive := craftedArchive(t, acc.Path+":evil", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "everything"},
		"rules": []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}},
	})
	_, err := backup.Restore(ctx, cfg, archive, acc.Path, "evil")
	require.True(t, apierrors.IsForbidden(err), "restoring a role the caller does not hold: %v", err)
	require.Contains(t, err.Error(), "failed to create ClusterRole everything in "+acc.Path+":evil", "the restore did not get to the role")
	admin, err := kubernetes.NewForConfig(server.ConfigFor(acc.Path + ":evil"))
	require.NoError(t, err)
	_, err = admin.RbacV1().ClusterRoles().Get(ctx, "everything", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the restore created the role: %v", err)

	// An export's identity key is never restored, even by an admin: the export is restored
	// with a new identity, and its key is reported; the rest is restored.
	archive = craftedArchive(t, acc.Path+":provider",
		map[string]any{"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIExport", "metadata": map[string]any{"name": "db"},
			"spec": map[string]any{"resources": []any{map[string]any{"group": "db.example.com", "name": "databases", "schema": "v1.databases.db.example.com"}}}, "status": map[string]any{"identityHash": "0123456789abcdef0123456789abcdef"}},
		map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db-identity", "namespace": "default"},
			"data": map[string]any{"key": "c3RvbGVu"}},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kept", "namespace": "default"}})
	res, err := backup.Restore(ctx, server.ConfigFor("root"), archive, acc.Path, "provider")
	require.NoError(t, err)
	require.Len(t, res.Skipped, 1, "skipped: %v", res.Skipped)
	provider, err := kubernetes.NewForConfig(server.ConfigFor(acc.Path + ":provider"))
	require.NoError(t, err)
	_, err = provider.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	require.NoError(t, err)
	key, err := provider.CoreV1().Secrets("default").Get(ctx, "db-identity", metav1.GetOptions{})
	require.NoError(t, err, "the restored export got no identity")
	require.NotEqual(t, "stolen", string(key.Data["key"]), "the export's identity key was restored")
}

// TestHostileBackupBinding (R43): a restore binds exports with the rights of its caller,
// never the server's. The admin of an account restores a crafted archive holding a binding to
// another tenant's export and an object of it: the binding is not made (reported with the
// same message as for an account that does not exist) and neither is the object, while the
// same archive restored by a platform admin binds; the restore goes on with the rest.
func TestHostileBackupBinding(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	victim := server.NewAccount(t, "root")
	group := "victim-" + victim.Name + ".example.com"
	publishDatabases(t, victim, "db", group, "")
	acc := server.NewAccount(t, "root")
	user := "binding-thief-" + acc.Name
	grantRole(t, acc, "admin", "--user="+user, false)
	cfg := userConfig(t, acc.Path, user)

	crafted := func(account, providerPath string) *bytes.Buffer {
		return craftedArchive(t, account,
			map[string]any{"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIBinding", "metadata": map[string]any{"name": "stolen"},
				"spec":   map[string]any{"reference": map[string]any{"export": map[string]any{"path": providerPath, "name": "db"}}},
				"status": map[string]any{"boundResources": []any{map[string]any{"group": group, "resource": "databases"}}}},
			map[string]any{"apiVersion": group + "/v1", "kind": "Database", "metadata": map[string]any{"name": "d", "namespace": "default"}},
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kept", "namespace": "default"}})
	}
	res, err := backup.Restore(ctx, cfg, crafted(acc.Path+":thief", victim.Path), acc.Path, "thief")
	require.NoError(t, err)
	require.Len(t, res.Skipped, 2, "skipped: %v", res.Skipped)
	require.Contains(t, res.Skipped[0], "APIBinding stolen in "+acc.Path+":thief")
	require.Contains(t, res.Skipped[0], "may not bind")
	require.Contains(t, res.Skipped[1], "Database default/d in "+acc.Path+":thief: served by a binding that was not restored")
	thief, err := framework.DynamicFor(server.ConfigFor(acc.Path + ":thief"))
	require.NoError(t, err)
	bindings, err := thief.Resource(apisv1alpha1.SchemeGroupVersion.WithResource("apibindings")).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, bindings.Items, "the restore bound another tenant's export")
	kube, err := kubernetes.NewForConfig(server.ConfigFor(acc.Path + ":thief"))
	require.NoError(t, err)
	_, err = kube.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	require.NoError(t, err, "the rest of the archive was not restored")

	// An account that does not exist reads the same.
	res2, err := backup.Restore(ctx, cfg, crafted(acc.Path+":thief2", "root:no-such-provider-x"), acc.Path, "thief2")
	require.NoError(t, err)
	require.Len(t, res2.Skipped, 2, "skipped: %v", res2.Skipped)
	require.Equal(t, strings.ReplaceAll(strings.ReplaceAll(res.Skipped[0], victim.Path, "P"), ":thief", ":T"),
		strings.ReplaceAll(strings.ReplaceAll(res2.Skipped[0], "root:no-such-provider-x", "P"), ":thief2", ":T"),
		"another tenant's export and a missing account are told apart")

	// The platform admin may bind it: the check is the caller's, not a blanket refusal.
	res3, err := backup.Restore(ctx, server.ConfigFor("root"), crafted(acc.Path+":admin", victim.Path), acc.Path, "admin")
	require.NoError(t, err)
	require.Empty(t, res3.Skipped)
	admin, err := framework.DynamicFor(server.ConfigFor(acc.Path + ":admin"))
	require.NoError(t, err)
	_, err = admin.Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "databases"}).Namespace("default").Get(ctx, "d", metav1.GetOptions{})
	require.NoError(t, err, "the platform admin's restore did not restore the bound object")
}
