package core

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// maxSecretSize is the largest total size of a Secret's data, as in a real cluster.
const maxSecretSize = 1024 * 1024

// redacted stands in for secret values in error messages.
const redacted = "<secret contents redacted>"

func secretOptions() store.Options {
	return store.Options{
		Resource:   corev1.Resource("secrets"),
		Singular:   "secret",
		New:        func() runtime.Object { return &corev1.Secret{} },
		NewList:    func() runtime.Object { return &corev1.SecretList{} },
		Namespaced: true,
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			prepareSecret(obj.(*corev1.Secret))
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			prepareSecret(obj.(*corev1.Secret))
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateSecret(obj.(*corev1.Secret))
		},
		ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
			return validateSecretUpdate(obj.(*corev1.Secret), old.(*corev1.Secret))
		},
		AttrFunc: secretAttrs,
		Columns: []store.Column{{
			Name: "Type", Type: "string", Description: "Type of the secret.",
			Value: func(obj runtime.Object) interface{} { return string(obj.(*corev1.Secret).Type) },
		}, {
			Name: "Data", Type: "integer", Description: "Number of keys in data.",
			Value: func(obj runtime.Object) interface{} { return int64(len(obj.(*corev1.Secret).Data)) },
		}},
	}
}

// prepareSecret applies what a real cluster does while decoding a Secret: the type defaults to
// Opaque and the write-only stringData is merged into data.
func prepareSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
		s.StringData = nil
	}
}

// secretAttrs returns the labels and the selectable fields of a Secret.
func secretAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, nil, fmt.Errorf("failed to read selectable fields: %T is not a Secret", obj)
	}
	fs := generic.AddObjectMetaFieldsSet(fields.Set{"type": string(s.Type)}, &s.ObjectMeta, true)
	return s.Labels, fs, nil
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	dataPath := field.NewPath("data")
	total := 0
	for key, value := range s.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, msg))
		}
		total += len(value)
	}
	if total > maxSecretSize {
		errs = append(errs, field.Forbidden(dataPath,
			fmt.Sprintf("data totals %d bytes, more than the limit of %d bytes", total, maxSecretSize)))
	}

	requireKey := func(key string) {
		if _, ok := s.Data[key]; !ok {
			errs = append(errs, field.Required(dataPath.Key(key), fmt.Sprintf("required for secrets of type %s", s.Type)))
		}
	}
	requireJSON := func(key string) {
		value, ok := s.Data[key]
		if !ok {
			requireKey(key)
			return
		}
		if err := json.Unmarshal(value, &map[string]interface{}{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(key), redacted, fmt.Sprintf("must be a JSON object: %v", err)))
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		requireJSON(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		requireJSON(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		_, hasUser := s.Data[corev1.BasicAuthUsernameKey]
		_, hasPassword := s.Data[corev1.BasicAuthPasswordKey]
		if !hasUser && !hasPassword {
			errs = append(errs,
				field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), "either username or password is required"),
				field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), "either username or password is required"))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		requireKey(corev1.TLSCertKey)
		requireKey(corev1.TLSPrivateKeyKey)
	}
	return errs
}

func validateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := validateSecret(s)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(s.Type, old.Type, field.NewPath("type"))...)
	errs = append(errs, validateImmutable(s.Immutable, old.Immutable,
		immutableField{path: field.NewPath("data"), newValue: s.Data, oldValue: old.Data},
	)...)
	return errs
}
