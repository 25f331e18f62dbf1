package rootcacert

import (
	"context"
	"errors"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const bundle = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"

// published returns the ConfigMap as the publisher writes it, with metadata that tests may
// extend.
func published(mutate ...func(*corev1.ConfigMap)) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: "team", UID: "u1", ResourceVersion: "7",
			Annotations: map[string]string{DescriptionAnnotation: description}},
		Data: map[string]string{caCertKey: bundle},
	}
	for _, m := range mutate {
		m(cm)
	}
	return cm
}

// calls records what a reconcile wrote.
type calls struct {
	created, updated []*corev1.ConfigMap
	deleted          []string
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	const id = cluster.ID("abc")
	yes := true
	fresh := published(func(cm *corev1.ConfigMap) { cm.UID, cm.ResourceVersion = "", "" })
	tests := []struct {
		name     string
		cm       *corev1.ConfigMap
		writeErr error
		want     calls
		wantErr  bool
	}{
		{name: "current", cm: published()},
		{name: "current with labels of its own", cm: published(func(cm *corev1.ConfigMap) { cm.Labels = map[string]string{"k": "v"} })},
		{name: "missing is created", want: calls{created: []*corev1.ConfigMap{fresh}}},
		{name: "created meanwhile", writeErr: apierrors.NewAlreadyExists(corev1.Resource("configmaps"), ConfigMapName),
			want: calls{created: []*corev1.ConfigMap{fresh}}},
		{name: "refused creation is retried", writeErr: apierrors.NewForbidden(corev1.Resource("configmaps"), ConfigMapName, errors.New("terminating")),
			want: calls{created: []*corev1.ConfigMap{fresh}}, wantErr: true},
		{name: "other bundle", cm: published(func(cm *corev1.ConfigMap) { cm.Data[caCertKey] = "attacker" }),
			want: calls{updated: []*corev1.ConfigMap{published()}}},
		{name: "extra keys", cm: published(func(cm *corev1.ConfigMap) {
			cm.Data["x"] = "y"
			cm.BinaryData = map[string][]byte{"z": nil}
		}), want: calls{updated: []*corev1.ConfigMap{published()}}},
		{name: "missing description, other annotations kept",
			cm:   published(func(cm *corev1.ConfigMap) { cm.Annotations = map[string]string{"mine": "x"} }),
			want: calls{updated: []*corev1.ConfigMap{published(func(cm *corev1.ConfigMap) { cm.Annotations["mine"] = "x" })}}},
		{name: "conflicting update is retried", cm: published(func(cm *corev1.ConfigMap) { cm.Data = nil }),
			writeErr: apierrors.NewConflict(corev1.Resource("configmaps"), ConfigMapName, errors.New("changed")),
			want:     calls{updated: []*corev1.ConfigMap{published()}}, wantErr: true},
		{name: "immutable with other content is replaced",
			cm:   published(func(cm *corev1.ConfigMap) { cm.Data[caCertKey], cm.Immutable = "attacker", &yes }),
			want: calls{deleted: []string{"u1@7"}, created: []*corev1.ConfigMap{fresh}}},
		{name: "immutable with the bundle is replaced", cm: published(func(cm *corev1.ConfigMap) { cm.Immutable = &yes }),
			want: calls{deleted: []string{"u1@7"}, created: []*corev1.ConfigMap{fresh}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got calls
			inAccount := func(gotID cluster.ID, namespace string) {
				require.Equal(t, id, gotID, "every call stays in the namespace's account")
				require.Equal(t, "team", namespace, "and in the namespace")
			}
			r := &reconciler{
				bundle: bundle,
				configMap: func(gotID cluster.ID, namespace string) (*corev1.ConfigMap, bool) {
					inAccount(gotID, namespace)
					return tc.cm, tc.cm != nil
				},
				create: func(_ context.Context, gotID cluster.ID, cm *corev1.ConfigMap) error {
					inAccount(gotID, cm.Namespace)
					got.created = append(got.created, cm)
					return tc.writeErr
				},
				update: func(_ context.Context, gotID cluster.ID, cm *corev1.ConfigMap) error {
					inAccount(gotID, cm.Namespace)
					got.updated = append(got.updated, cm)
					return tc.writeErr
				},
				delete: func(_ context.Context, gotID cluster.ID, namespace string, uid types.UID, resourceVersion string) error {
					inAccount(gotID, namespace)
					got.deleted = append(got.deleted, string(uid)+"@"+resourceVersion)
					return nil
				},
			}
			var before *corev1.ConfigMap
			if tc.cm != nil {
				before = tc.cm.DeepCopy()
			}
			err := r.ensure(t.Context(), id, "team")
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, got)
			if tc.cm != nil {
				require.Equal(t, before, tc.cm, "the cached ConfigMap is not modified")
			}
		})
	}
}

func TestShareBundle(t *testing.T) {
	t.Parallel()
	cm := published()
	cm.Data[caCertKey] = string([]byte(bundle)) // an equal string in its own memory
	require.NotSame(t, unsafe.StringData(bundle), unsafe.StringData(cm.Data[caCertKey]))
	shared := shareBundle(cm, bundle).(*corev1.ConfigMap)
	require.Same(t, unsafe.StringData(bundle), unsafe.StringData(shared.Data[caCertKey]), "the cache holds one copy of the bundle")
	other := published(func(cm *corev1.ConfigMap) { cm.Data[caCertKey] = "other" })
	require.Equal(t, "other", shareBundle(other, bundle).(*corev1.ConfigMap).Data[caCertKey])
}
