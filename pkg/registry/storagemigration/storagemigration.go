package storagemigration

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// NewStorage returns the storage of storageversionmigrations (and their status), keyed by
// resource name.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	o := options()
	storages, err := store.New(scheme, getter, o)
	if err != nil {
		return nil, fmt.Errorf("failed to create storage for %s: %w", o.Resource, err)
	}
	return storages, nil
}

func options() store.Options {
	return store.Options{
		Resource:  storagemigrationv1.Resource("storageversionmigrations"),
		Singular:  "storageversionmigration",
		New:       func() runtime.Object { return &storagemigrationv1.StorageVersionMigration{} },
		NewList:   func() runtime.Object { return &storagemigrationv1.StorageVersionMigrationList{} },
		HasStatus: true,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateSpec(&obj.(*storagemigrationv1.StorageVersionMigration).Spec)
		},
		ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
			spec, oldSpec := &obj.(*storagemigrationv1.StorageVersionMigration).Spec, &old.(*storagemigrationv1.StorageVersionMigration).Spec
			errs := validateSpec(spec)
			if !apiequality.Semantic.DeepEqual(spec, oldSpec) {
				errs = append(errs, field.Invalid(field.NewPath("spec"), spec, "field is immutable"))
			}
			return errs
		},
		ValidateStatusUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
			return validateStatusUpdate(&obj.(*storagemigrationv1.StorageVersionMigration).Status,
				&old.(*storagemigrationv1.StorageVersionMigration).Status)
		},
		Columns: []store.Column{
			{Name: "Resource", Type: "string", Description: "The resource whose objects are migrated.",
				Value: func(obj runtime.Object) interface{} {
					return obj.(*storagemigrationv1.StorageVersionMigration).Spec.Resource.String()
				}},
			{Name: "Status", Type: "string", Description: "Succeeded, Failed or Running.",
				Value: func(obj runtime.Object) interface{} {
					return Phase(obj.(*storagemigrationv1.StorageVersionMigration).Status.Conditions)
				}},
		},
	}
}

// Phase sums conditions up in one word: the first of Succeeded, Failed and Running that is
// true, else Pending.
func Phase(conditions []metav1.Condition) string {
	for _, t := range []storagemigrationv1.MigrationConditionType{
		storagemigrationv1.MigrationSucceeded, storagemigrationv1.MigrationFailed, storagemigrationv1.MigrationRunning,
	} {
		if meta.IsStatusConditionTrue(conditions, string(t)) {
			return string(t)
		}
	}
	return "Pending"
}

// validateSpec checks the resource as upstream does: a DNS-1035 label, in a DNS-1123
// subdomain group (empty for the core group).
func validateSpec(spec *storagemigrationv1.StorageVersionMigrationSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "resource")
	if r := spec.Resource.Resource; r == "" {
		errs = append(errs, field.Required(p.Child("resource"), "the resource to migrate is required"))
	} else if msgs := validation.IsDNS1035Label(r); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("resource"), r, strings.Join(msgs, ", ")))
	}
	if g := spec.Resource.Group; g != "" {
		if msgs := validation.IsDNS1123Subdomain(g); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("group"), g, strings.Join(msgs, ", ")))
		}
	}
	return errs
}

// validateStatusUpdate keeps status.resourceVersion, once set, and an outcome, once reached:
// Succeeded and Failed never both hold, and neither turns false again.
func validateStatusUpdate(status, old *storagemigrationv1.StorageVersionMigrationStatus) field.ErrorList {
	p := field.NewPath("status")
	errs := metav1validation.ValidateConditions(status.Conditions, p.Child("conditions"))
	if rv := status.ResourceVersion; rv != "" {
		if _, err := strconv.ParseUint(rv, 10, 64); err != nil {
			errs = append(errs, field.Invalid(p.Child("resourceVersion"), rv, "must be a resource version of this server, a non-negative integer"))
		}
	}
	if old.ResourceVersion != "" && status.ResourceVersion != old.ResourceVersion {
		errs = append(errs, field.Invalid(p.Child("resourceVersion"), status.ResourceVersion, "field is immutable once set"))
	}
	succeeded := meta.IsStatusConditionTrue(status.Conditions, string(storagemigrationv1.MigrationSucceeded))
	failed := meta.IsStatusConditionTrue(status.Conditions, string(storagemigrationv1.MigrationFailed))
	if succeeded && failed {
		errs = append(errs, field.Invalid(p.Child("conditions"), status.Conditions, "Succeeded and Failed cannot both be true"))
	}
	for _, outcome := range []struct {
		t   storagemigrationv1.MigrationConditionType
		now bool
	}{{storagemigrationv1.MigrationSucceeded, succeeded}, {storagemigrationv1.MigrationFailed, failed}} {
		if !outcome.now && meta.IsStatusConditionTrue(old.Conditions, string(outcome.t)) {
			errs = append(errs, field.Invalid(p.Child("conditions"), status.Conditions, fmt.Sprintf("%s cannot turn false once true", outcome.t)))
		}
	}
	return errs
}
