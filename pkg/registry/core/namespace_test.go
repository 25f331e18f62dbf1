package core

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
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
		{name: "valid finalizers", finalizers: []corev1.FinalizerName{"kubernetes", "example.com/cleanup", "orphan"}},
		{name: "invalid finalizer", finalizers: []corev1.FinalizerName{"not a name"}, want: []string{"spec.finalizers[0]", "spec.finalizers[0]"}},
		{name: "unqualified finalizer", finalizers: []corev1.FinalizerName{"cleanup"}, want: []string{"spec.finalizers[0]"}},
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
	strategy := namespaceStore(t).CreateStrategy
	tests := []struct {
		name           string
		ns             *corev1.Namespace
		wantFinalizers []corev1.FinalizerName
		wantErr        bool
	}{{
		name: "defaults",
		ns: &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{corev1.LabelMetadataName: "other"}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
		},
		wantFinalizers: []corev1.FinalizerName{NamespaceFinalizer},
	}, {
		name: "keeps finalizers without duplicates",
		ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
			Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x", NamespaceFinalizer}}},
		wantFinalizers: []corev1.FinalizerName{"example.com/x", NamespaceFinalizer},
	}, {
		name: "adds to given finalizers",
		ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
			Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x"}}},
		wantFinalizers: []corev1.FinalizerName{"example.com/x", NamespaceFinalizer},
	}, {
		name:    "invalid name",
		ns:      &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}},
		wantErr: true,
	}, {
		name: "unqualified spec finalizer",
		ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
			Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"cleanup"}}},
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
			require.Equal(t, tc.wantFinalizers, tc.ns.Spec.Finalizers)
			require.Empty(t, tc.ns.Finalizers, "no metadata finalizer is added")
			require.Equal(t, "team-a", tc.ns.Labels[corev1.LabelMetadataName])
		})
	}
}

// namespaceStore returns the generic store behind the namespace storage.
func namespaceStore(t *testing.T) *store.REST {
	t.Helper()
	return newTestStorage(t)["namespaces"].(*namespaceREST).store
}

func TestNamespaceUpdateKeepsFinalizersAndStatus(t *testing.T) {
	t.Parallel()
	old := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1", Labels: map[string]string{corev1.LabelMetadataName: "team-a"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{NamespaceFinalizer}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	ns := old.DeepCopy()
	ns.Labels["team"] = "a"
	ns.Spec.Finalizers = nil
	ns.Status.Conditions = []corev1.NamespaceCondition{{Type: "Custom", Status: corev1.ConditionTrue}}
	namespaceStore(t).UpdateStrategy.PrepareForUpdate(t.Context(), ns, old)
	require.Equal(t, "a", ns.Labels["team"], "metadata changes are kept")
	require.Equal(t, old.Spec.Finalizers, ns.Spec.Finalizers, "spec finalizers change only through finalize")
	require.Equal(t, old.Status, ns.Status, "status changes only through status")
}

func TestNamespaceFinalize(t *testing.T) {
	t.Parallel()
	storages := newTestStorage(t)
	finalize := storages["namespaces/finalize"].(*store.UpdateREST)
	require.NotNil(t, finalize)
	old := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1", Generation: 1, Labels: map[string]string{"team": "a"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{NamespaceFinalizer}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	ns := old.DeepCopy()
	ns.Labels = map[string]string{"team": "b"}
	ns.Annotations = map[string]string{"added": "x"}
	ns.Spec.Finalizers = []corev1.FinalizerName{NamespaceFinalizer, "example.com/extra"}
	ns.Status.Phase = corev1.NamespaceTerminating
	ns.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "test"}}
	prepareNamespaceFinalize(ns, old)

	want := old.DeepCopy()
	want.Spec.Finalizers = []corev1.FinalizerName{NamespaceFinalizer, "example.com/extra"}
	want.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "test"}}
	require.Equal(t, want, ns, "finalize changes the spec finalizers only")
}

func TestNamespaceShouldDeleteDuringUpdate(t *testing.T) {
	t.Parallel()
	shouldDelete := namespaceOptions().ShouldDeleteDuringUpdate
	withSpec := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{NamespaceFinalizer}}}
	require.False(t, shouldDelete(t.Context(), "", withSpec, withSpec))
	require.True(t, shouldDelete(t.Context(), "", &corev1.Namespace{}, withSpec))
}

func TestDeletionFinalizers(t *testing.T) {
	t.Parallel()
	orphan, foreground, background := metav1.DeletePropagationOrphan, metav1.DeletePropagationForeground, metav1.DeletePropagationBackground
	yes, no := true, false
	tests := []struct {
		name       string
		finalizers []string
		options    metav1.DeleteOptions
		want       []string
	}{
		{name: "no options keep none"},
		{name: "no options keep what is there", finalizers: []string{"example.com/x", metav1.FinalizerOrphanDependents},
			want: []string{"example.com/x", metav1.FinalizerOrphanDependents}},
		{name: "orphan", options: metav1.DeleteOptions{PropagationPolicy: &orphan}, want: []string{metav1.FinalizerOrphanDependents}},
		{name: "foreground replaces orphan", finalizers: []string{metav1.FinalizerOrphanDependents, "example.com/x"},
			options: metav1.DeleteOptions{PropagationPolicy: &foreground}, want: []string{"example.com/x", metav1.FinalizerDeleteDependents}},
		{name: "background removes both", finalizers: []string{metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents},
			options: metav1.DeleteOptions{PropagationPolicy: &background}, want: []string{}},
		// The deprecated field is still honoured, as upstream does.
		{name: "orphanDependents true", options: metav1.DeleteOptions{OrphanDependents: &yes}, want: []string{metav1.FinalizerOrphanDependents}}, //nolint:staticcheck // see above
		{name: "orphanDependents false", options: metav1.DeleteOptions{OrphanDependents: &no}, want: []string{metav1.FinalizerDeleteDependents}}, //nolint:staticcheck // see above
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, deletionFinalizers(tc.finalizers, &tc.options))
		})
	}
}

func TestNamespacePreconditions(t *testing.T) {
	t.Parallel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", UID: "u1", ResourceVersion: "5"}}
	options, err := withNamespacePreconditions(ns, nil)
	require.NoError(t, err)
	require.Equal(t, types.UID("u1"), *options.Preconditions.UID, "the deletion is bound to this namespace")
	other, rv := types.UID("u2"), "4"
	_, err = withNamespacePreconditions(ns, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &other}})
	require.True(t, apierrors.IsConflict(err), "%v", err)
	_, err = withNamespacePreconditions(ns, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	require.True(t, apierrors.IsConflict(err), "%v", err)
}

func TestNamespaceAttrs(t *testing.T) {
	t.Parallel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	_, f, err := namespaceAttrs(ns)
	require.NoError(t, err)
	require.Equal(t, fields.Set{"metadata.name": "team-a", "status.phase": "Active"}, f)
}
