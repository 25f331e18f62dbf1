package storage

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// secrets is a storage.Interface over fixed secrets: two labelled, one not, one in another
// account.
type secrets struct {
	storage.Interface
	deleted, updated []string
}

func secret(id, name string, labelled bool) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: "1",
		Annotations: map[string]string{"accountmesh.io/cluster": id}}}
	if labelled {
		s.Labels = map[string]string{"claimed": "true"}
	}
	return s
}

func (s *secrets) all() []runtime.Object {
	return []runtime.Object{secret("acc", "a", true), secret("acc", "b", true), secret("acc", "plain", false), secret("other", "o", true)}
}

func (s *secrets) find(key string) *corev1.Secret {
	for _, o := range s.all() {
		sec := o.(*corev1.Secret)
		if key == "/core/secrets/"+sec.Annotations["accountmesh.io/cluster"]+"/ns/"+sec.Name {
			return sec
		}
	}
	return nil
}

func (s *secrets) Get(_ context.Context, key string, _ storage.GetOptions, out runtime.Object) error {
	sec := s.find(key)
	if sec == nil {
		return apierrors.NewNotFound(corev1.Resource("secrets"), key)
	}
	sec.DeepCopyInto(out.(*corev1.Secret))
	return nil
}

func (s *secrets) GetList(_ context.Context, key string, opts storage.ListOptions, out runtime.Object) error {
	list := out.(*corev1.SecretList)
	for _, o := range s.all() {
		sec := o.(*corev1.Secret)
		if !strings.HasPrefix("/core/secrets/"+sec.Annotations["accountmesh.io/cluster"]+"/ns/"+sec.Name, key) {
			continue
		}
		if opts.Predicate.Label == nil || opts.Predicate.Label.Matches(labels.Set(sec.Labels)) {
			list.Items = append(list.Items, *sec)
		}
	}
	return nil
}

func (s *secrets) Watch(context.Context, string, storage.ListOptions) (watch.Interface, error) {
	w := watch.NewFakeWithChanSize(8, false)
	for _, o := range s.all() {
		w.Add(o)
	}
	w.Stop()
	return w, nil
}

func (s *secrets) Create(_ context.Context, key string, _, _ runtime.Object, _ uint64) error {
	s.updated = append(s.updated, key)
	return nil
}

func (s *secrets) Delete(ctx context.Context, key string, _ runtime.Object, _ *storage.Preconditions, validate storage.ValidateObjectFunc, _ runtime.Object, _ storage.DeleteOptions) error {
	if err := validate(ctx, s.find(key)); err != nil {
		return err
	}
	s.deleted = append(s.deleted, key)
	return nil
}

func (s *secrets) GuaranteedUpdate(_ context.Context, key string, _ runtime.Object, _ bool, _ *storage.Preconditions, tryUpdate storage.UpdateFunc, _ runtime.Object) error {
	if _, _, err := tryUpdate(s.find(key), storage.ResponseMeta{}); err != nil {
		return err
	}
	s.updated = append(s.updated, key)
	return nil
}

func names(objs []runtime.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.(*corev1.Secret).Annotations["accountmesh.io/cluster"]+"/"+o.(*corev1.Secret).Name)
	}
	return out
}

func TestRestriction(t *testing.T) {
	t.Parallel()
	claimed := labels.SelectorFromSet(labels.Set{"claimed": "true"})
	onlyAcc := func(id cluster.ID) bool { return id == "acc" }
	inAccount := func(r Restriction) context.Context {
		return WithRestriction(cluster.WithCluster(context.Background(), "acc"), r)
	}
	wildcard := func(r Restriction) context.Context {
		return WithRestriction(cluster.WithCluster(context.Background(), cluster.Wildcard), r)
	}
	relabel := func(l map[string]string) storage.UpdateFunc {
		return func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			out := in.DeepCopyObject().(*corev1.Secret)
			out.Labels = l
			return out, nil, nil
		}
	}
	for _, tc := range []struct {
		name string
		call func(s *Storage) ([]string, error)
		want []string
		err  func(error) bool
	}{
		{"list in an account by selector", func(s *Storage) ([]string, error) {
			list := &corev1.SecretList{}
			err := s.GetList(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns", storage.ListOptions{}, list)
			objs, _ := extract(list)
			return names(objs), err
		}, []string{"acc/a", "acc/b"}, nil},
		{"wildcard list by member and selector", func(s *Storage) ([]string, error) {
			list := &corev1.SecretList{}
			err := s.GetList(wildcard(Restriction{Member: onlyAcc, Selector: claimed}), "/core/secrets", storage.ListOptions{}, list)
			objs, _ := extract(list)
			return names(objs), err
		}, []string{"acc/a", "acc/b"}, nil},
		{"wildcard list by object filter", func(s *Storage) ([]string, error) {
			list := &corev1.SecretList{}
			err := s.GetList(wildcard(Restriction{Object: func(o runtime.Object) bool { return o.(*corev1.Secret).Name == "o" }}), "/core/secrets", storage.ListOptions{}, list)
			objs, _ := extract(list)
			return names(objs), err
		}, []string{"other/o"}, nil},
		{"wildcard watch by member and selector", func(s *Storage) ([]string, error) {
			w, err := s.Watch(wildcard(Restriction{Member: onlyAcc, Selector: claimed}), "/core/secrets", storage.ListOptions{})
			if err != nil {
				return nil, err
			}
			var objs []runtime.Object
			for e := range w.ResultChan() {
				objs = append(objs, e.Object)
			}
			return names(objs), nil
		}, []string{"acc/a", "acc/b"}, nil},
		{"get of a labelled secret", func(s *Storage) ([]string, error) {
			out := &corev1.Secret{}
			err := s.Get(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/a", storage.GetOptions{}, out)
			return []string{out.Name}, err
		}, []string{"a"}, nil},
		{"get of an unlabelled secret is not found", func(s *Storage) ([]string, error) {
			return nil, s.Get(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/plain", storage.GetOptions{}, &corev1.Secret{})
		}, nil, apierrors.IsNotFound},
		{"get outside the members is not found", func(s *Storage) ([]string, error) {
			return nil, s.Get(inAccount(Restriction{Member: func(cluster.ID) bool { return false }}), "/core/secrets/ns/a", storage.GetOptions{}, &corev1.Secret{})
		}, nil, apierrors.IsNotFound},
		{"create with the selector's labels", func(s *Storage) ([]string, error) {
			err := s.Create(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/new", secret("", "new", true), nil, 0)
			return nil, err
		}, nil, nil},
		{"create without them is forbidden", func(s *Storage) ([]string, error) {
			return nil, s.Create(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/new", secret("", "new", false), nil, 0)
		}, nil, apierrors.IsForbidden},
		{"update keeping the labels", func(s *Storage) ([]string, error) {
			return nil, s.GuaranteedUpdate(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/a", &corev1.Secret{}, false, nil,
				relabel(map[string]string{"claimed": "true", "more": "x"}), nil)
		}, nil, nil},
		{"update dropping the labels is forbidden", func(s *Storage) ([]string, error) {
			return nil, s.GuaranteedUpdate(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/a", &corev1.Secret{}, false, nil, relabel(nil), nil)
		}, nil, apierrors.IsForbidden},
		{"update of an unlabelled secret is not found", func(s *Storage) ([]string, error) {
			return nil, s.GuaranteedUpdate(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/plain", &corev1.Secret{}, false, nil,
				relabel(map[string]string{"claimed": "true"}), nil)
		}, nil, apierrors.IsNotFound},
		{"delete of an unlabelled secret is not found", func(s *Storage) ([]string, error) {
			return nil, s.Delete(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/plain", &corev1.Secret{}, nil, nil, nil, storage.DeleteOptions{})
		}, nil, apierrors.IsNotFound},
		{"delete of a labelled secret", func(s *Storage) ([]string, error) {
			return nil, s.Delete(inAccount(Restriction{Selector: claimed}), "/core/secrets/ns/a", &corev1.Secret{}, nil, nil, nil, storage.DeleteOptions{})
		}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			backend := &secrets{}
			got, err := tc.call(New(backend, "/core/secrets", corev1.Resource("secrets")))
			if tc.err != nil {
				require.True(t, tc.err(err), "unexpected error %v", err)
				require.Empty(t, backend.updated, "a refused write must not reach storage")
				require.Empty(t, backend.deleted, "a refused delete must not reach storage")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func extract(list runtime.Object) ([]runtime.Object, error) {
	var out []runtime.Object
	for i := range list.(*corev1.SecretList).Items {
		out = append(out, &list.(*corev1.SecretList).Items[i])
	}
	return out, nil
}
