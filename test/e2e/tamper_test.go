package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestTamperClusterAnnotation checks that a client cannot move an object to another account,
// or detach it from its own, by writing the cluster annotation: whatever it sends, the object
// stays stored under its own account's key, annotated with its own cluster ID.
func TestTamperClusterAnnotation(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	b := server.NewAccount(t, "root")

	values := map[string]string{
		"other account": b.ClusterID,
		"garbage":       "not-a-cluster/../" + b.ClusterID,
		"empty":         "",
	}
	type write func(t *testing.T, name, value string)
	cms := a.Kube.CoreV1().ConfigMaps("default")
	createPlain := func(t *testing.T, name string) {
		t.Helper()
		_, err := cms.Create(t.Context(), configMap(name, nil, map[string]string{"k": "v"}), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	writes := map[string]write{
		"create": func(t *testing.T, name, value string) {
			t.Helper()
			cm := configMap(name, nil, map[string]string{"k": "v"})
			cm.Annotations = map[string]string{clusterAnnotation: value}
			got, err := cms.Create(t.Context(), cm, metav1.CreateOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "create response")
		},
		"update": func(t *testing.T, name, value string) {
			t.Helper()
			createPlain(t, name)
			cm := getConfigMap(t, a, name)
			cm.Annotations[clusterAnnotation] = value
			cm.Data["k"] = "updated"
			got, err := cms.Update(t.Context(), cm, metav1.UpdateOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "update response")
			require.Equal(t, "updated", got.Data["k"])
		},
		"merge patch": func(t *testing.T, name, value string) {
			t.Helper()
			createPlain(t, name)
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, clusterAnnotation, value)
			got, err := cms.Patch(t.Context(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "patch response")
		},
		"json patch": func(t *testing.T, name, value string) {
			t.Helper()
			createPlain(t, name)
			patch := fmt.Sprintf(`[{"op":"replace","path":"/metadata/annotations/accountmesh.io~1cluster","value":%q}]`, value)
			got, err := cms.Patch(t.Context(), name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "patch response")
		},
		"server-side apply": func(t *testing.T, name, value string) {
			t.Helper()
			createPlain(t, name)
			got, err := cms.Patch(t.Context(), name, types.ApplyPatchType, []byte(applyBody(name, value)),
				metav1.PatchOptions{FieldManager: "tamperer", Force: ptr.To(true)})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "apply response")
			require.Equal(t, "applied", got.Data["k"])
		},
		"server-side apply creating": func(t *testing.T, name, value string) {
			t.Helper()
			got, err := cms.Patch(t.Context(), name, types.ApplyPatchType, []byte(applyBody(name, value)),
				metav1.PatchOptions{FieldManager: "tamperer"})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "apply response")
		},
		"kubectl apply": func(t *testing.T, name, value string) {
			t.Helper()
			createPlain(t, name)
			manifest := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: default\n  annotations:\n    %s: %q\ndata:\n  k: applied\n",
				name, clusterAnnotation, value)
			framework.KubectlStdin(t, a.Kubeconfig, manifest, "apply", "-f", "-")
		},
	}

	// Removing the annotation does not detach the object from its account either.
	removals := map[string]func(t *testing.T, name string){
		"update": func(t *testing.T, name string) {
			t.Helper()
			cm := getConfigMap(t, a, name)
			delete(cm.Annotations, clusterAnnotation)
			got, err := cms.Update(t.Context(), cm, metav1.UpdateOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "update response")
		},
		"merge patch": func(t *testing.T, name string) {
			t.Helper()
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, clusterAnnotation)
			got, err := cms.Patch(t.Context(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "patch response")
		},
		"json patch": func(t *testing.T, name string) {
			t.Helper()
			patch := `[{"op":"remove","path":"/metadata/annotations/accountmesh.io~1cluster"}]`
			got, err := cms.Patch(t.Context(), name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
			require.NoError(t, err)
			require.Equal(t, a.ClusterID, got.Annotations[clusterAnnotation], "patch response")
		},
	}

	i := 0
	for writeName, write := range writes {
		for valueName, value := range values {
			name := fmt.Sprintf("tamper-%d", i)
			i++
			t.Run(writeName+"/"+valueName, func(t *testing.T) {
				write(t, name, value)
				requireStoredIn(t, a, []*framework.Account{b}, name)
			})
		}
	}
	for removalName, remove := range removals {
		name := fmt.Sprintf("tamper-%d", i)
		i++
		t.Run(removalName+"/removing the annotation", func(t *testing.T) {
			createPlain(t, name)
			remove(t, name)
			requireStoredIn(t, a, []*framework.Account{b}, name)
		})
	}
}

// decodeStored decodes an object as the server stores it in etcd (JSON).
func decodeStored(value []byte, into interface{}) error {
	if err := json.Unmarshal(value, into); err != nil {
		return fmt.Errorf("failed to decode stored object %q: %w", value, err)
	}
	return nil
}

// applyBody is a server-side apply body for ConfigMap name setting the cluster annotation.
func applyBody(name, value string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"default","annotations":{%q:%q}},"data":{"k":"applied"}}`,
		name, clusterAnnotation, value)
}

// requireStoredIn checks that ConfigMap default/name lives in acc only: readable there with
// acc's cluster ID (from etcd and from the watch cache), absent from the others, and stored in
// etcd under acc's key alone.
func requireStoredIn(t *testing.T, acc *framework.Account, others []*framework.Account, name string) {
	t.Helper()
	ctx := t.Context()
	for _, rv := range []string{"", "0"} {
		// resourceVersion 0 reads the watch cache, which may not have seen a create yet.
		var cm *corev1.ConfigMap
		var err error
		framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
			cm, err = acc.Kube.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{ResourceVersion: rv})
			return err == nil || !apierrors.IsNotFound(err), nil
		}, "get with resourceVersion %q: %v", rv, func() error { return err }())
		require.NoError(t, err, "get with resourceVersion %q", rv)
		require.Equal(t, acc.ClusterID, cm.Annotations[clusterAnnotation], "get with resourceVersion %q", rv)
	}
	for _, other := range others {
		_, err := other.Kube.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "get in %s: %v", other, err)
		list, err := other.Kube.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		for _, cm := range list.Items {
			require.NotEqual(t, name, cm.Name, "%s lists %s/%s", other, cm.Namespace, cm.Name)
		}
	}

	want := "/registry/core/configmaps/" + acc.ClusterID + "/default/" + name
	resp, err := etcdClient.Get(ctx, want)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "no key %s", want)
	var stored corev1.ConfigMap
	require.NoError(t, decodeStored(resp.Kvs[0].Value, &stored))
	require.Equal(t, acc.ClusterID, stored.Annotations[clusterAnnotation], "annotation stored at %s", want)
	// Apart from what the client itself wrote into kubectl's last-applied annotation, nothing
	// stored mentions another account.
	delete(stored.Annotations, lastAppliedAnnotation)
	raw, err := json.Marshal(&stored)
	require.NoError(t, err)
	for _, other := range others {
		require.NotContains(t, string(raw), other.ClusterID, "stored %s mentions %s", want, other)
	}

	// No other key anywhere holds a ConfigMap default/<name>, except in unrelated accounts
	// that happen to use the same name; none of them is one of ours.
	all, err := etcdClient.Get(ctx, "/registry/core/configmaps/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	for _, kv := range all.Kvs {
		key := string(kv.Key)
		if key == want || !strings.HasSuffix(key, "/default/"+name) {
			continue
		}
		for _, other := range others {
			require.NotEqual(t, "/registry/core/configmaps/"+other.ClusterID+"/default/"+name, key)
		}
		require.Regexp(t, `^/registry/core/configmaps/[a-z][a-z0-9]{15}/default/`+name+`$`, key, "unexpected key")
	}
}
