package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	generatedopenapi "github.com/accountmesh/accountmesh/pkg/generated/openapi"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

func TestCELValidator(t *testing.T) {
	t.Parallel()
	exportWith := func(ref *corev1.SecretReference, hash string) *apisv1alpha1.APIExport {
		e := &apisv1alpha1.APIExport{Spec: apisv1alpha1.APIExportSpec{
			Resources: []apisv1alpha1.ExportedResource{{Group: "db.example.com", Name: "databases", Schema: "v1.databases.db.example.com"}},
		}}
		if ref != nil {
			e.Spec.Identity = &apisv1alpha1.Identity{SecretRef: ref}
		}
		e.Status.IdentityHash = hash
		return e
	}
	bindingTo := func(path, name string) *apisv1alpha1.APIBinding {
		return &apisv1alpha1.APIBinding{Spec: apisv1alpha1.APIBindingSpec{
			Reference: apisv1alpha1.BindingReference{Export: &apisv1alpha1.ExportReference{Path: path, Name: name}},
		}}
	}
	secret := &corev1.SecretReference{Namespace: "default", Name: "db-identity"}
	for _, tc := range []struct {
		name     string
		kind     string
		obj, old runtime.Object
		wantErr  string
	}{
		{name: "binding reference unchanged", kind: "APIBinding", obj: bindingTo("root:p", "db"), old: bindingTo("root:p", "db")},
		{name: "binding reference name change", kind: "APIBinding", obj: bindingTo("root:p", "other"), old: bindingTo("root:p", "db"),
			wantErr: "spec.reference: Invalid value: reference is immutable; create a new APIBinding"},
		{name: "binding reference path change", kind: "APIBinding", obj: bindingTo("root:q", "db"), old: bindingTo("root:p", "db"),
			wantErr: "reference is immutable"},
		{name: "export identity set once", kind: "APIExport", obj: exportWith(secret, ""), old: exportWith(nil, "")},
		{name: "export identity change", kind: "APIExport", obj: exportWith(&corev1.SecretReference{Namespace: "default", Name: "x"}, ""), old: exportWith(secret, ""),
			wantErr: "identity.secretRef is immutable once set"},
		{name: "export identity removed", kind: "APIExport", obj: exportWith(nil, ""), old: exportWith(secret, ""),
			wantErr: "identity.secretRef is immutable once set"},
		{name: "export hash set once", kind: "APIExport", obj: exportWith(secret, "abc"), old: exportWith(secret, "")},
		{name: "export hash change", kind: "APIExport", obj: exportWith(secret, "def"), old: exportWith(secret, "abc"),
			wantErr: "identityHash is immutable once set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := store.NewCELValidator(generatedopenapi.Definitions, scheme.Scheme, apisv1alpha1.SchemeGroupVersion.WithKind(tc.kind))
			require.NoError(t, err)
			var errs error
			if tc.old != nil {
				errs = v.Validate(t.Context(), tc.obj, tc.old).ToAggregate()
			} else {
				errs = v.Validate(t.Context(), tc.obj, nil).ToAggregate()
			}
			if tc.wantErr == "" {
				require.NoError(t, errs)
				return
			}
			require.ErrorContains(t, errs, tc.wantErr)
		})
	}
}
