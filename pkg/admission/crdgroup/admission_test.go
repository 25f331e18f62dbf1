package crdgroup

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	crds := apiextensions.Resource("customresourcedefinitions").WithVersion("")
	kind := apiextensions.Kind("CustomResourceDefinition").WithVersion("")
	for _, tc := range []struct {
		name        string
		group       string
		subresource string
		op          admission.Operation
		wantErr     bool
	}{
		{name: "custom group", group: "example.com", op: admission.Create},
		{name: "built-in group on create", group: "rbac.authorization.k8s.io", op: admission.Create, wantErr: true},
		{name: "built-in group on update", group: "core.accountmesh.io", op: admission.Update, wantErr: true},
		{name: "status writes pass", group: "core.accountmesh.io", subresource: "status", op: admission.Update},
		{name: "group with a built-in group as suffix", group: "x.rbac.authorization.k8s.io", op: admission.Create},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			crd := &apiextensions.CustomResourceDefinition{
				ObjectMeta: metav1.ObjectMeta{Name: "things." + tc.group},
				Spec:       apiextensions.CustomResourceDefinitionSpec{Group: tc.group},
			}
			attrs := admission.NewAttributesRecord(crd, nil, kind, "", crd.Name, crds, tc.subresource, tc.op, nil, false, nil)
			err := New("rbac.authorization.k8s.io", "core.accountmesh.io").Validate(t.Context(), attrs, nil)
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.True(t, apierrors.IsInvalid(err), "got %v", err)
			require.Contains(t, err.Error(), "built-in groups (core.accountmesh.io, rbac.authorization.k8s.io)")
		})
	}
}
