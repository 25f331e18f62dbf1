package store

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Options describe a typed resource.
type Options struct {
	// Resource is the group and plural resource name.
	Resource schema.GroupResource
	// Singular is the singular resource name.
	Singular string
	// New and NewList return empty objects of the resource.
	New, NewList func() runtime.Object
	// Namespaced is true for namespace-scoped resources.
	Namespaced bool
	// NameValidation validates metadata.name; DNS subdomain when nil.
	NameValidation apimachineryvalidation.ValidateNameFunc
	// Validate validates a new object beyond its metadata.
	Validate func(ctx context.Context, obj runtime.Object) field.ErrorList
	// ValidateUpdate validates an update beyond metadata; Validate on the new object when nil.
	ValidateUpdate func(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// PrepareForCreate sets server-owned fields of a new object.
	PrepareForCreate func(ctx context.Context, obj runtime.Object)
	// PrepareForUpdate sets server-owned fields of an updated object.
	PrepareForUpdate func(ctx context.Context, obj, old runtime.Object)
	// StatusUpdatesMetadata lets the status subresource change metadata (labels, annotations)
	// too, as upstream's namespaces/status does; otherwise it changes status only.
	StatusUpdatesMetadata bool
	// PrepareForStatusUpdate sets server-owned fields of a status update.
	PrepareForStatusUpdate func(ctx context.Context, obj, old runtime.Object)
	// ValidateStatusUpdate validates a status update beyond metadata.
	ValidateStatusUpdate func(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// HasStatus adds a status subresource: the main resource ignores status changes, the
	// status subresource ignores everything else. The Go type must have a Status field.
	HasStatus bool
	// Subresources are further update-only subresources, such as namespaces/finalize.
	Subresources []Subresource
	// ShouldDeleteDuringUpdate, when set, must also agree before an update that leaves a
	// deleted object without finalizers removes it from storage, e.g. for namespaces, whose
	// spec.finalizers hold them as well.
	ShouldDeleteDuringUpdate func(ctx context.Context, key string, obj, existing runtime.Object) bool
	// AllowCreateOnUpdate lets PUT create missing objects.
	AllowCreateOnUpdate bool
	// Columns are the table columns besides NAME and AGE; see NewTableConvertor.
	Columns []Column
	// Table, when set, prints the resource's tables instead of NAME, Columns and AGE.
	Table rest.TableConvertor
	// AttrFunc returns labels and fields for selectors; metadata.name/namespace when nil.
	AttrFunc storage.AttrFunc
	// TTL, when set, is how long objects live in storage after their last write.
	TTL time.Duration
	// ShortNames and Categories appear in discovery.
	ShortNames, Categories []string
}

// Subresource describes an update-only subresource: a PUT that changes only what its
// PrepareForUpdate takes from the request and is validated as an update of the main resource.
type Subresource struct {
	// Name is the subresource's name, e.g. finalize.
	Name string
	// PrepareForUpdate turns obj, the object of the request, into old with only the changes
	// the subresource allows; it must keep obj's managed fields.
	PrepareForUpdate func(ctx context.Context, obj, old runtime.Object)
	// ResetFields are the top-level fields the subresource does not own, e.g. metadata and
	// status: server-side apply drops them from what the request sets.
	ResetFields []string
}

// REST is the storage of a resource.
type REST struct {
	*genericregistry.Store
	shortNames []string
	categories []string
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider.
func (r *REST) ShortNames() []string { return r.shortNames }

// Categories implements rest.CategoriesProvider.
func (r *REST) Categories() []string { return r.categories }

// UpdateREST is the storage of an update-only subresource (see Subresource).
type UpdateREST struct {
	store *genericregistry.Store
}

var _ rest.Updater = &UpdateREST{}

// New implements rest.Storage.
func (r *UpdateREST) New() runtime.Object { return r.store.New() }

// Destroy implements rest.Storage; the main resource owns the store.
func (r *UpdateREST) Destroy() {}

// Update implements rest.Updater; it never creates.
func (r *UpdateREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc,
	_ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields implements rest.ResetFieldsStrategy.
func (r *UpdateREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// StatusREST is the storage of a status subresource: an update-only subresource that can also
// be read, and so patched.
type StatusREST struct {
	UpdateREST
}

var _ rest.Patcher = &StatusREST{}

// Get implements rest.Getter.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// ConvertToTable implements rest.TableConvertor.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// New builds the storage of a resource: the resource itself, with HasStatus its status
// subresource and its Subresources, keyed by the names they are installed under.
func New(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, o Options) (map[string]rest.Storage, error) {
	if o.NameValidation == nil {
		o.NameValidation = apimachineryvalidation.NameIsDNSSubdomain
	}
	s := &strategy{ObjectTyper: scheme, scheme: scheme, NameGenerator: names.SimpleNameGenerator, o: o}
	st := &genericregistry.Store{
		NewFunc:                   o.New,
		NewListFunc:               o.NewList,
		DefaultQualifiedResource:  o.Resource,
		SingularQualifiedResource: schema.GroupResource{Group: o.Resource.Group, Resource: o.Singular},
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            o.Table,
		ShouldDeleteDuringUpdate:  o.ShouldDeleteDuringUpdate,
	}
	if st.TableConvertor == nil {
		st.TableConvertor = NewTableConvertor(o.Resource, o.Columns...)
	}
	if o.TTL > 0 {
		ttl := uint64(o.TTL.Seconds())
		st.TTLFunc = func(runtime.Object, uint64, bool) (uint64, error) { return ttl, nil }
	}
	if err := st.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: o.AttrFunc}); err != nil {
		return nil, fmt.Errorf("failed to build storage for %s: %w", o.Resource, err)
	}
	storages := map[string]rest.Storage{
		o.Resource.Resource: &REST{Store: st, shortNames: o.ShortNames, categories: o.Categories},
	}
	if o.HasStatus {
		statusStore := *st
		ss := &statusStrategy{strategy: s}
		statusStore.UpdateStrategy = ss
		statusStore.ResetFieldsStrategy = ss
		storages[o.Resource.Resource+"/status"] = &StatusREST{UpdateREST{store: &statusStore}}
	}
	for _, sub := range o.Subresources {
		subStore := *st
		ss := &subresourceStrategy{strategy: s, sub: sub}
		subStore.UpdateStrategy = ss
		subStore.ResetFieldsStrategy = ss
		storages[o.Resource.Resource+"/"+sub.Name] = &UpdateREST{store: &subStore}
	}
	return storages, nil
}

// statusField returns the addressable Status field of obj.
func statusField(obj runtime.Object) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName("Status")
}

// specField returns the Spec field of obj, or an invalid value when it has none.
func specField(obj runtime.Object) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName("Spec")
}

type strategy struct {
	runtime.ObjectTyper
	scheme *runtime.Scheme
	names.NameGenerator
	o Options
}

func (s *strategy) NamespaceScoped() bool { return s.o.Namespaced }

func (s *strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if s.o.HasStatus {
		f := statusField(obj)
		f.Set(reflect.Zero(f.Type()))
	}
	if specField(obj).IsValid() {
		if m, err := meta.Accessor(obj); err == nil {
			m.SetGeneration(1)
		}
	}
	if s.o.PrepareForCreate != nil {
		s.o.PrepareForCreate(ctx, obj)
	}
}

func (s *strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if s.o.HasStatus {
		statusField(obj).Set(statusField(old))
	}
	if s.o.PrepareForUpdate != nil {
		s.o.PrepareForUpdate(ctx, obj, old)
	}
	setGeneration(obj, old)
}

// setGeneration carries the generation of old over to obj, one higher when the spec changed.
func setGeneration(obj, old runtime.Object) {
	spec := specField(obj)
	if !spec.IsValid() {
		return
	}
	newMeta, err1 := meta.Accessor(obj)
	oldMeta, err2 := meta.Accessor(old)
	if err1 != nil || err2 != nil {
		return
	}
	generation := oldMeta.GetGeneration()
	if !apiequality.Semantic.DeepEqual(spec.Interface(), specField(old).Interface()) {
		generation++
	}
	newMeta.SetGeneration(generation)
}

func (s *strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	errs := apimachineryvalidation.ValidateObjectMetaAccessor(m, s.o.Namespaced, s.o.NameValidation, field.NewPath("metadata"))
	if s.o.Validate != nil {
		errs = append(errs, s.o.Validate(ctx, obj)...)
	}
	return errs
}

func (s *strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (s *strategy) Canonicalize(runtime.Object) {}

func (s *strategy) AllowCreateOnUpdate(context.Context) bool { return s.o.AllowCreateOnUpdate }

func (s *strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := validateMetaUpdate(obj, old)
	switch {
	case s.o.ValidateUpdate != nil:
		errs = append(errs, s.o.ValidateUpdate(ctx, obj, old)...)
	case s.o.Validate != nil:
		errs = append(errs, s.o.Validate(ctx, obj)...)
	}
	return errs
}

func validateMetaUpdate(obj, old runtime.Object) field.ErrorList {
	newMeta, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	oldMeta, err := meta.Accessor(old)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	return apimachineryvalidation.ValidateObjectMetaAccessorUpdate(newMeta, oldMeta, field.NewPath("metadata"))
}

func (s *strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

func (s *strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

// GetResetFields implements rest.ResetFieldsStrategy: the main resource does not own status.
func (s *strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if !s.o.HasStatus {
		return nil
	}
	return resetFields(s.scheme, s.o.Resource.Group, "status")
}

type statusStrategy struct {
	*strategy
}

func (s *statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	status := statusField(obj).Interface()
	managedFields := m.GetManagedFields()
	objectMeta := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta").Interface()
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(old.DeepCopyObject()).Elem())
	statusField(obj).Set(reflect.ValueOf(status))
	if s.o.StatusUpdatesMetadata {
		reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta").Set(reflect.ValueOf(objectMeta))
	}
	m.SetManagedFields(managedFields)
	if s.o.PrepareForStatusUpdate != nil {
		s.o.PrepareForStatusUpdate(ctx, obj, old)
	}
}

func (s *statusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := validateMetaUpdate(obj, old)
	if s.o.ValidateStatusUpdate != nil {
		errs = append(errs, s.o.ValidateStatusUpdate(ctx, obj, old)...)
	}
	return errs
}

// GetResetFields implements rest.ResetFieldsStrategy: the status subresource owns only status.
func (s *statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if s.o.StatusUpdatesMetadata {
		return resetFields(s.scheme, s.o.Resource.Group, "spec")
	}
	return resetFields(s.scheme, s.o.Resource.Group, "spec", "metadata")
}

type subresourceStrategy struct {
	*strategy
	sub Subresource
}

func (s *subresourceStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	s.sub.PrepareForUpdate(ctx, obj, old)
	setGeneration(obj, old)
}

// GetResetFields implements rest.ResetFieldsStrategy.
func (s *subresourceStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields(s.scheme, s.o.Resource.Group, s.sub.ResetFields...)
}

// resetFields returns, for every version of group, the top-level fields a strategy resets.
func resetFields(scheme *runtime.Scheme, group string, fields ...string) map[fieldpath.APIVersion]*fieldpath.Set {
	set := fieldpath.NewSet()
	for _, f := range fields {
		set.Insert(fieldpath.MakePathOrDie(f))
	}
	out := map[fieldpath.APIVersion]*fieldpath.Set{}
	for _, gv := range scheme.PrioritizedVersionsForGroup(group) {
		out[fieldpath.APIVersion(gv.String())] = set
	}
	return out
}

// NewGroup builds the storage of several resources, keyed as New keys them.
func NewGroup(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, options ...Options) (map[string]rest.Storage, error) {
	out := map[string]rest.Storage{}
	for _, o := range options {
		storages, err := New(scheme, getter, o)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, storages)
	}
	return out, nil
}
