package dynamic

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

// schemaStorage is the per (CRD identity, served version) view of a shared raw storage: it
// converts to the storage version and prunes on write, and on read converts stored objects to
// the served version with pruning, metadata coercion and defaulting. Cached objects are never
// mutated: every read copies first.
type schemaStorage struct {
	raw       storage.Interface
	schemas   *crdSchemas
	served    schema.GroupVersion
	storageGV schema.GroupVersion
	kind      string
	// member reports whether an account serves this identity; used for wildcard reads only.
	member func(cluster.ID) bool
	// watches tracks open watches, to end them when their account leaves the identity.
	watches *watches
}

var _ storage.Interface = &schemaStorage{}

// Versioner implements storage.Interface.
func (s *schemaStorage) Versioner() storage.Versioner { return s.raw.Versioner() }

// toStorage returns a copy of obj converted to the storage version and pruned there.
func (s *schemaStorage) toStorage(obj runtime.Object) (*unstructured.Unstructured, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected object type %T", obj)
	}
	out, err := s.schemas.unsafe.ConvertToVersion(u.DeepCopy(), s.storageGV)
	if err != nil {
		return nil, err
	}
	ou := out.(*unstructured.Unstructured)
	if _, err := s.schemas.coerce(ou, false, false, false); err != nil {
		return nil, err
	}
	return ou, nil
}

// fromStorage copies a stored object into out in the served version.
func (s *schemaStorage) fromStorage(in *unstructured.Unstructured, out runtime.Object) error {
	o, ok := out.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("unexpected object type %T", out)
	}
	c, err := s.read(in)
	if err != nil {
		return err
	}
	o.Object = c.Object
	return nil
}

// read returns a copy of a stored object in the served version; the cached original is never
// mutated.
func (s *schemaStorage) read(in *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	c := in.DeepCopy()
	if len(c.Object) == 0 {
		// A missing object in GuaranteedUpdate (create on update or apply).
		c.SetGroupVersionKind(s.served.WithKind(s.kind))
		return c, nil
	}
	return s.schemas.readStored(c, s.served)
}

// visible reports whether an object belongs to an account that serves this identity. Under a
// storage restriction (a provider view), the raw storage's restriction decides instead: the
// view shows every account bound to the export, whichever schema version it serves.
func (s *schemaStorage) visible(ctx context.Context, u *unstructured.Unstructured) bool {
	if s.member == nil || amstorage.RestrictionFrom(ctx) != nil {
		return true
	}
	return s.member(cluster.ID(u.GetAnnotations()[corev1alpha1.ClusterAnnotation]))
}

// Create implements storage.Interface.
func (s *schemaStorage) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	in, err := s.toStorage(obj)
	if err != nil {
		return err
	}
	rawOut := &unstructured.Unstructured{}
	if err := s.raw.Create(ctx, key, in, rawOut, ttl); err != nil {
		return err
	}
	return s.fromStorage(rawOut, out)
}

// Delete implements storage.Interface.
func (s *schemaStorage) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	rawOut := &unstructured.Unstructured{}
	validate := func(ctx context.Context, obj runtime.Object) error {
		c, err := s.read(obj.(*unstructured.Unstructured))
		if err != nil {
			return err
		}
		return validateDeletion(ctx, c)
	}
	if err := s.raw.Delete(ctx, key, rawOut, preconditions, validate, nil, opts); err != nil {
		return err
	}
	return s.fromStorage(rawOut, out)
}

// Watch implements storage.Interface.
func (s *schemaStorage) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	pred := opts.Predicate
	opts.Predicate = rawPredicate(pred)
	w, err := s.raw.Watch(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	filtered := watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		obj := e.Object
		if co, ok := obj.(runtime.CacheableObject); ok {
			obj = co.GetObject()
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return e, true
		}
		if e.Type == watch.Bookmark {
			c := u.DeepCopy()
			c.SetGroupVersionKind(s.served.WithKind(s.kind))
			e.Object = c
			return e, true
		}
		if !s.visible(ctx, u) {
			return e, false
		}
		c, err := s.read(u)
		if err != nil {
			return watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(err).ErrStatus}, true
		}
		if matches, err := pred.Matches(c); err != nil || !matches {
			return e, false
		}
		e.Object = c
		return e, true
	})
	id, _ := cluster.FromContext(ctx)
	return s.watches.track(id, filtered), nil
}

// Get implements storage.Interface.
func (s *schemaStorage) Get(ctx context.Context, key string, opts storage.GetOptions, objPtr runtime.Object) error {
	rawOut := &unstructured.Unstructured{}
	if err := s.raw.Get(ctx, key, opts, rawOut); err != nil {
		return err
	}
	return s.fromStorage(rawOut, objPtr)
}

// GetList implements storage.Interface.
func (s *schemaStorage) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	pred := opts.Predicate
	opts.Predicate = rawPredicate(pred)
	rawList := &unstructured.UnstructuredList{}
	if err := s.raw.GetList(ctx, key, opts, rawList); err != nil {
		return err
	}
	out := listObj.(*unstructured.UnstructuredList)
	out.SetResourceVersion(rawList.GetResourceVersion())
	out.SetContinue(rawList.GetContinue())
	out.SetRemainingItemCount(rawList.GetRemainingItemCount())
	out.Items = make([]unstructured.Unstructured, 0, len(rawList.Items))
	for i := range rawList.Items {
		if !s.visible(ctx, &rawList.Items[i]) {
			continue
		}
		c, err := s.read(&rawList.Items[i])
		if err != nil {
			return err
		}
		if matches, err := pred.Matches(c); err != nil || !matches {
			continue
		}
		out.Items = append(out.Items, *c)
	}
	return nil
}

// GuaranteedUpdate implements storage.Interface.
func (s *schemaStorage) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	rawOut := &unstructured.Unstructured{}
	err := s.raw.GuaranteedUpdate(ctx, key, rawOut, ignoreNotFound, preconditions, func(input runtime.Object, res storage.ResponseMeta) (runtime.Object, *uint64, error) {
		existing, err := s.read(input.(*unstructured.Unstructured))
		if err != nil {
			return nil, nil, err
		}
		updated, ttl, err := tryUpdate(existing, res)
		if err != nil {
			return nil, nil, err
		}
		stored, err := s.toStorage(updated)
		if err != nil {
			return nil, nil, err
		}
		return stored, ttl, nil
	}, nil)
	if err != nil {
		return err
	}
	return s.fromStorage(rawOut, destination)
}

// Stats implements storage.Interface.
func (s *schemaStorage) Stats(ctx context.Context) (storage.Stats, error) { return s.raw.Stats(ctx) }

// ReadinessCheck implements storage.Interface.
func (s *schemaStorage) ReadinessCheck() error { return s.raw.ReadinessCheck() }

// RequestWatchProgress implements storage.Interface.
func (s *schemaStorage) RequestWatchProgress(ctx context.Context) error {
	return s.raw.RequestWatchProgress(ctx)
}

// GetCurrentResourceVersion implements storage.Interface.
func (s *schemaStorage) GetCurrentResourceVersion(ctx context.Context) (uint64, error) {
	return s.raw.GetCurrentResourceVersion(ctx)
}

// EnableResourceSizeEstimation implements storage.Interface.
func (s *schemaStorage) EnableResourceSizeEstimation(f storage.KeysFunc) error {
	return s.raw.EnableResourceSizeEstimation(f)
}

// CompactRevision implements storage.Interface.
func (s *schemaStorage) CompactRevision() int64 { return s.raw.CompactRevision() }

// rawPredicate is what the shared raw storage can evaluate of a predicate: labels and the
// metadata fields its cache indexes. Selectors on a CRD's selectable fields depend on the
// account's schema, so the schema layer evaluates them on the converted objects; pages can then
// be shorter than the limit, which the API allows.
func rawPredicate(p storage.SelectionPredicate) storage.SelectionPredicate {
	if p.Field == nil || p.Field.Empty() {
		return p
	}
	for _, r := range p.Field.Requirements() {
		if r.Field != "metadata.name" && r.Field != "metadata.namespace" {
			p.Field = fields.Everything()
			p.GetAttrs = metadataAttrs
			return p
		}
	}
	return p
}
