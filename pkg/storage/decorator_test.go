package storage

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// recorder is a storage.Interface that records the keys and objects it is handed.
type recorder struct {
	storage.Interface
	keys    []string
	created runtime.Object
	updated runtime.Object
}

func (r *recorder) Create(_ context.Context, key string, obj, _ runtime.Object, _ uint64) error {
	r.keys, r.created = append(r.keys, key), obj
	return nil
}

func (r *recorder) Get(_ context.Context, key string, _ storage.GetOptions, _ runtime.Object) error {
	r.keys = append(r.keys, key)
	return nil
}

func (r *recorder) GetList(_ context.Context, key string, _ storage.ListOptions, _ runtime.Object) error {
	r.keys = append(r.keys, key)
	return nil
}

func (r *recorder) Watch(_ context.Context, key string, _ storage.ListOptions) (watch.Interface, error) {
	r.keys = append(r.keys, key)
	return watch.NewEmptyWatch(), nil
}

func (r *recorder) Delete(_ context.Context, key string, _ runtime.Object, _ *storage.Preconditions, _ storage.ValidateObjectFunc, _ runtime.Object, _ storage.DeleteOptions) error {
	r.keys = append(r.keys, key)
	return nil
}

func (r *recorder) GuaranteedUpdate(_ context.Context, key string, _ runtime.Object, _ bool, _ *storage.Preconditions, tryUpdate storage.UpdateFunc, _ runtime.Object) error {
	r.keys = append(r.keys, key)
	existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Annotations: map[string]string{"accountmesh.io/cluster": "acc"}}}
	out, _, err := tryUpdate(existing, storage.ResponseMeta{})
	r.updated = out
	return err
}

func TestKeysCarryTheCluster(t *testing.T) {
	t.Parallel()
	const prefix = "/core/configmaps"
	inAccount := cluster.WithCluster(context.Background(), "acc")
	wildcard := cluster.WithCluster(context.Background(), cluster.Wildcard)
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		call    func(ctx context.Context, s *Storage) error
		wantKey string
		wantErr func(error) bool
	}{
		{"get", inAccount, func(ctx context.Context, s *Storage) error {
			return s.Get(ctx, prefix+"/ns/x", storage.GetOptions{}, &corev1.ConfigMap{})
		}, prefix + "/acc/ns/x", nil},
		{"list namespace", inAccount, func(ctx context.Context, s *Storage) error {
			return s.GetList(ctx, prefix+"/ns", storage.ListOptions{}, &corev1.ConfigMapList{})
		}, prefix + "/acc/ns", nil},
		{"list all namespaces", inAccount, func(ctx context.Context, s *Storage) error {
			return s.GetList(ctx, prefix, storage.ListOptions{}, &corev1.ConfigMapList{})
		}, prefix + "/acc", nil},
		{"watch", inAccount, func(ctx context.Context, s *Storage) error {
			_, err := s.Watch(ctx, prefix+"/ns", storage.ListOptions{})
			return err
		}, prefix + "/acc/ns", nil},
		{"delete", inAccount, func(ctx context.Context, s *Storage) error {
			return s.Delete(ctx, prefix+"/ns/x", &corev1.ConfigMap{}, nil, nil, nil, storage.DeleteOptions{})
		}, prefix + "/acc/ns/x", nil},
		{"wildcard list", wildcard, func(ctx context.Context, s *Storage) error {
			return s.GetList(ctx, prefix, storage.ListOptions{}, &corev1.ConfigMapList{})
		}, prefix, nil},
		{"wildcard watch", wildcard, func(ctx context.Context, s *Storage) error {
			_, err := s.Watch(ctx, prefix, storage.ListOptions{})
			return err
		}, prefix, nil},
		{"wildcard list of a namespace", wildcard, func(ctx context.Context, s *Storage) error {
			return s.GetList(ctx, prefix+"/ns", storage.ListOptions{}, &corev1.ConfigMapList{})
		}, "", apierrors.IsBadRequest},
		{"wildcard list narrowed by a field selector", genericapirequest.WithRequestInfo(wildcard, &genericapirequest.RequestInfo{Verb: "list", Name: "x", Parts: []string{"configmaps"}}),
			func(ctx context.Context, s *Storage) error {
				return s.GetList(ctx, prefix+"/ns/x", storage.ListOptions{}, &corev1.ConfigMapList{})
			}, prefix, nil},
		{"wildcard list of a namespace in the URL", genericapirequest.WithRequestInfo(wildcard, &genericapirequest.RequestInfo{Verb: "list", Namespace: "ns", Parts: []string{"configmaps"}}),
			func(ctx context.Context, s *Storage) error {
				return s.GetList(ctx, prefix+"/ns", storage.ListOptions{}, &corev1.ConfigMapList{})
			}, "", apierrors.IsBadRequest},
		{"wildcard get", wildcard, func(ctx context.Context, s *Storage) error {
			return s.Get(ctx, prefix+"/ns/x", storage.GetOptions{}, &corev1.ConfigMap{})
		}, "", apierrors.IsMethodNotSupported},
		{"wildcard create", wildcard, func(ctx context.Context, s *Storage) error {
			return s.Create(ctx, prefix+"/ns/x", &corev1.ConfigMap{}, nil, 0)
		}, "", apierrors.IsMethodNotSupported},
		{"no cluster", context.Background(), func(ctx context.Context, s *Storage) error {
			return s.GetList(ctx, prefix, storage.ListOptions{}, &corev1.ConfigMapList{})
		}, "", apierrors.IsBadRequest},
		{"key outside the prefix", inAccount, func(ctx context.Context, s *Storage) error {
			return s.Get(ctx, "/core/secrets/ns/x", storage.GetOptions{}, &corev1.ConfigMap{})
		}, "", apierrors.IsInternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{}
			err := tc.call(tc.ctx, New(r, prefix, corev1.Resource("configmaps")))
			if tc.wantErr != nil {
				require.True(t, tc.wantErr(err), "unexpected error %v", err)
				require.Empty(t, r.keys, "the request must not reach storage")
				return
			}
			require.NoError(t, err)
			require.Equal(t, []string{tc.wantKey}, r.keys)
		})
	}
}

func TestWritesStampTheCluster(t *testing.T) {
	t.Parallel()
	ctx := cluster.WithCluster(context.Background(), "acc")
	r := &recorder{}
	s := New(r, "/core/configmaps", corev1.Resource("configmaps"))

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Annotations: map[string]string{"accountmesh.io/cluster": "other", "keep": "me"}}}
	require.NoError(t, s.Create(ctx, "/core/configmaps/ns/x", cm, &corev1.ConfigMap{}, 0))
	created := r.created.(*corev1.ConfigMap)
	require.Equal(t, map[string]string{"accountmesh.io/cluster": "acc", "keep": "me"}, created.Annotations)

	require.NoError(t, s.GuaranteedUpdate(ctx, "/core/configmaps/ns/x", &corev1.ConfigMap{}, false, nil,
		func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			out := input.DeepCopyObject().(*corev1.ConfigMap)
			out.Annotations = map[string]string{"accountmesh.io/cluster": "tampered"}
			return out, nil, nil
		}, nil))
	require.Equal(t, "acc", r.updated.(*corev1.ConfigMap).Annotations["accountmesh.io/cluster"])
}

func TestCacheKeyFunc(t *testing.T) {
	t.Parallel()
	key := CacheKeyFunc("/core/configmaps")
	got, err := key(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "x", Annotations: map[string]string{"accountmesh.io/cluster": "acc"}}})
	require.NoError(t, err)
	require.Equal(t, "/core/configmaps/acc/ns/x", got)
	got, err = CacheKeyFunc("/core/namespaces")(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Annotations: map[string]string{"accountmesh.io/cluster": "acc"}}})
	require.NoError(t, err)
	require.Equal(t, "/core/namespaces/acc/ns", got)
	_, err = key(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}})
	require.Error(t, err)
}
