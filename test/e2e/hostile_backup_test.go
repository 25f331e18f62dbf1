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
	"k8s.io/client-go/kubernetes"

	"github.com/accountmesh/accountmesh/pkg/backup"
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

	// An export's identity key is never restored, even by an admin: the export and its key
	// are reported, as are a binding and the objects it served; the rest is restored.
	archive = craftedArchive(t, acc.Path+":provider",
		map[string]any{"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIExport", "metadata": map[string]any{"name": "db"}},
		map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db-identity", "namespace": "default"},
			"data": map[string]any{"key": "c3RvbGVu"}},
		map[string]any{"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIBinding", "metadata": map[string]any{"name": "db"},
			"status": map[string]any{"boundResources": []any{map[string]any{"group": "db.example.com", "resource": "databases"}}}},
		map[string]any{"apiVersion": "db.example.com/v1", "kind": "Database", "metadata": map[string]any{"name": "d", "namespace": "default"}},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kept", "namespace": "default"}})
	res, err := backup.Restore(ctx, server.ConfigFor("root"), archive, acc.Path, "provider")
	require.NoError(t, err)
	require.Len(t, res.Skipped, 4, "skipped: %v", res.Skipped)
	provider, err := kubernetes.NewForConfig(server.ConfigFor(acc.Path + ":provider"))
	require.NoError(t, err)
	_, err = provider.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	require.NoError(t, err)
	_, err = provider.CoreV1().Secrets("default").Get(ctx, "db-identity", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the export's identity key was restored: %v", err)
}
