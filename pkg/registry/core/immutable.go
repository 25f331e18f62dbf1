package core

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// immutableField is a field that must not change once an object sets `immutable`.
type immutableField struct {
	path               *field.Path
	newValue, oldValue interface{}
}

// validateImmutable enforces the `immutable` flag of ConfigMaps and Secrets: once the old
// object set it, the flag must stay set and none of the given fields may change.
func validateImmutable(newFlag, oldFlag *bool, fields ...immutableField) field.ErrorList {
	if oldFlag == nil || !*oldFlag {
		return nil
	}
	var errs field.ErrorList
	if newFlag == nil || !*newFlag {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	for _, f := range fields {
		if !apiequality.Semantic.DeepEqual(f.newValue, f.oldValue) {
			errs = append(errs, field.Forbidden(f.path, "field is immutable when `immutable` is set"))
		}
	}
	return errs
}
