package core

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// maxConfigMapSize is the largest total size of a ConfigMap's data, as in a real cluster.
const maxConfigMapSize = 1024 * 1024

func configMapOptions() store.Options {
	return store.Options{
		Resource:   corev1.Resource("configmaps"),
		Singular:   "configmap",
		New:        func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:    func() runtime.Object { return &corev1.ConfigMapList{} },
		Namespaced: true,
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateConfigMap(obj.(*corev1.ConfigMap))
		},
		ValidateUpdate: validateConfigMapUpdate,
		ShortNames:     []string{"cm"},
		Columns: []store.Column{{
			Name: "Data", Type: "integer", Description: "Number of keys in data and binaryData.",
			Value: func(obj runtime.Object) interface{} {
				cm := obj.(*corev1.ConfigMap)
				return int64(len(cm.Data) + len(cm.BinaryData))
			},
		}},
	}
}

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for key, value := range cm.Data {
		p := field.NewPath("data").Key(key)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p, key, msg))
		}
		if _, dup := cm.BinaryData[key]; dup {
			errs = append(errs, field.Invalid(p, key, "duplicate of key present in binaryData"))
		}
		total += len(value)
	}
	for key, value := range cm.BinaryData {
		p := field.NewPath("binaryData").Key(key)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p, key, msg))
		}
		total += len(value)
	}
	if total > maxConfigMapSize {
		errs = append(errs, field.Forbidden(field.NewPath("data"),
			fmt.Sprintf("data and binaryData total %d bytes, more than the limit of %d bytes", total, maxConfigMapSize)))
	}
	return errs
}

func validateConfigMapUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	cm, oldCM := obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap)
	errs := validateConfigMap(cm)
	errs = append(errs, validateImmutable(cm.Immutable, oldCM.Immutable,
		immutableField{path: field.NewPath("data"), newValue: cm.Data, oldValue: oldCM.Data},
		immutableField{path: field.NewPath("binaryData"), newValue: cm.BinaryData, oldValue: oldCM.BinaryData},
	)...)
	return errs
}
