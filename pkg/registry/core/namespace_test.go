package core

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
	"github.com/accountmesh/accountmesh/pkg/registry/store/storetest"
)

func TestNamespaceName(t *testing.T) {
	t.Parallel()
	validate := namespaceOptions().NameValidation
	require.Empty(t, validate("team-a", false))
	require.NotEmpty(t, validate("team.a", false))
	require.NotEmpty(t, validate("Team", false))
}

func TestValidateNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		finalizers []corev1.FinalizerName
		want       []string
	}{
		{name: "no finalizers"},
		{name: "valid finalizers", finalizers: []corev1.FinalizerName{"kubernetes", "example.com/cleanup"}},
		{name: "invalid finalizer", finalizers: []corev1.FinalizerName{"not a name"}, want: []string{"spec.finalizers[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: tc.finalizers}}
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateNamespace(ns)))
		})
	}
}

func TestValidateNamespaceStatus(t *testing.T) {
	t.Parallel()
	deleted := new(metav1.Now())
	tests := []struct {
		name    string
		deleted bool
		phase   corev1.NamespacePhase
		want    []string
	}{
		{name: "active", phase: corev1.NamespaceActive},
		{name: "terminating before deletion", phase: corev1.NamespaceTerminating, want: []string{"status.phase"}},
		{name: "empty", want: []string{"status.phase"}},
		{name: "unknown phase", phase: "Sleeping", want: []string{"status.phase"}},
		{name: "terminating after deletion", deleted: true, phase: corev1.NamespaceTerminating},
		{name: "active after deletion", deleted: true, phase: corev1.NamespaceActive, want: []string{"status.phase"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: tc.phase}}
			if tc.deleted {
				ns.DeletionTimestamp = deleted
			}
			require.ElementsMatch(t, tc.want, storetest.ErrorFields(validateNamespaceStatus(ns)))
		})
	}
}

func TestNamespaceCreate(t *testing.T) {
	t.Parallel()
	strategy := newTestStorage(t)["namespaces"].(*store.REST).CreateStrategy
	tests := []struct {
		name           string
		ns             *corev1.Namespace
		wantFinalizers []string
		wantErr        bool
	}{{
		name: "defaults",
		ns: &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{corev1.LabelMetadataName: "other"}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
		},
		wantFinalizers: []string{NamespaceFinalizer},
	}, {
		name:           "keeps finalizers without duplicates",
		ns:             &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Finalizers: []string{"example.com/x", NamespaceFinalizer}}},
		wantFinalizers: []string{"example.com/x", NamespaceFinalizer},
	}, {
		name:    "invalid name",
		ns:      &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}},
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rest.FillObjectMetaSystemFields(tc.ns)
			err := rest.BeforeCreate(strategy, genericapirequest.WithNamespace(t.Context(), metav1.NamespaceNone), tc.ns)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, corev1.NamespaceActive, tc.ns.Status.Phase)
			require.Equal(t, tc.wantFinalizers, tc.ns.Finalizers)
			require.Equal(t, "team-a", tc.ns.Labels[corev1.LabelMetadataName])
		})
	}
}

func TestNamespaceAttrs(t *testing.T) {
	t.Parallel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	_, f, err := namespaceAttrs(ns)
	require.NoError(t, err)
	require.Equal(t, fields.Set{"metadata.name": "team-a", "status.phase": "Active"}, f)
}
