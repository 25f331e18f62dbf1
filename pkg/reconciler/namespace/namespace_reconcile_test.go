package namespace

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

var (
	configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secrets    = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	widgets    = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

func TestDeletableResources(t *testing.T) {
	t.Parallel()
	all := []string{"create", "delete", "deletecollection", "get", "list", "watch"}
	tests := []struct {
		name  string
		lists []*metav1.APIResourceList
		want  []schema.GroupVersionResource
	}{
		{name: "nothing discovered"},
		{
			name: "keeps resources with deletecollection and list, sorted",
			lists: []*metav1.APIResourceList{
				{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Verbs: all}}},
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "secrets", Verbs: all},
					{Name: "configmaps", Verbs: all},
				}},
			},
			want: []schema.GroupVersionResource{configMaps, secrets, widgets},
		},
		{
			name: "skips subresources, read-only resources and bad group versions",
			lists: []*metav1.APIResourceList{
				nil,
				{GroupVersion: "a/b/c", APIResources: []metav1.APIResource{{Name: "broken", Verbs: all}}},
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "configmaps", Verbs: all},
					{Name: "configmaps/status", Verbs: all},
					{Name: "bindings", Verbs: []string{"create"}},
					{Name: "unlistable", Verbs: []string{"delete", "deletecollection"}},
				}},
			},
			want: []schema.GroupVersionResource{configMaps},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, deletableResources(tt.lists))
		})
	}
}

func TestDesiredStatus(t *testing.T) {
	t.Parallel()
	earlier := metav1.Unix(100, 0)
	now := metav1.Unix(200, 0)
	type cond struct {
		status corev1.ConditionStatus
		reason string
	}
	tests := []struct {
		name    string
		current corev1.NamespaceStatus
		found   content
		want    map[corev1.NamespaceConditionType]cond
		// wantMessages are expected condition messages, where the test checks them.
		wantMessages map[corev1.NamespaceConditionType]string
	}{
		{
			name:  "empty namespace",
			found: content{finalizers: sets.New[string]()},
			want: map[corev1.NamespaceConditionType]cond{
				corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, reasonResourcesDiscovered},
				corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, reasonContentDeleted},
				corev1.NamespaceContentRemaining:         {corev1.ConditionFalse, reasonContentRemoved},
				corev1.NamespaceFinalizersRemaining:      {corev1.ConditionFalse, reasonContentHasNoFinalizer},
			},
		},
		{
			name: "content with finalizers remains",
			found: content{
				remaining:  map[schema.GroupResource]int64{widgets.GroupResource(): 3, configMaps.GroupResource(): 1},
				finalizers: sets.New("example.com/keep", "a.example.com/hold"),
			},
			want: map[corev1.NamespaceConditionType]cond{
				corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, reasonResourcesDiscovered},
				corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, reasonContentDeleted},
				corev1.NamespaceContentRemaining:         {corev1.ConditionTrue, reasonSomeResourcesRemain},
				corev1.NamespaceFinalizersRemaining:      {corev1.ConditionTrue, reasonSomeFinalizersRemain},
			},
			wantMessages: map[corev1.NamespaceConditionType]string{
				corev1.NamespaceContentRemaining:    "Resources remain: configmaps (1), widgets.example.com (3)",
				corev1.NamespaceFinalizersRemaining: "Remaining content has finalizers: a.example.com/hold, example.com/keep",
			},
		},
		{
			name: "discovery and deletion failures",
			found: content{
				discoveryErr: errors.New("group example.com/v1 unavailable"),
				deleteErrs:   []error{errors.New("failed to delete secrets: boom")},
				finalizers:   sets.New[string](),
			},
			want: map[corev1.NamespaceConditionType]cond{
				corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionTrue, reasonDiscoveryFailed},
				corev1.NamespaceDeletionContentFailure:   {corev1.ConditionTrue, reasonContentDeletionFailed},
				corev1.NamespaceContentRemaining:         {corev1.ConditionFalse, reasonContentRemoved},
				corev1.NamespaceFinalizersRemaining:      {corev1.ConditionFalse, reasonContentHasNoFinalizer},
			},
			wantMessages: map[corev1.NamespaceConditionType]string{
				corev1.NamespaceDeletionDiscoveryFailure: "group example.com/v1 unavailable",
				corev1.NamespaceDeletionContentFailure:   "failed to delete secrets: boom",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := desiredStatus(tt.current, tt.found, now)
			require.Equal(t, corev1.NamespaceTerminating, got.Phase)
			require.Len(t, got.Conditions, len(tt.want))
			for _, c := range got.Conditions {
				require.Equal(t, tt.want[c.Type], cond{c.Status, c.Reason}, "condition %s", c.Type)
				if msg, ok := tt.wantMessages[c.Type]; ok {
					require.Equal(t, msg, c.Message, "condition %s", c.Type)
				}
			}
			// A second pass with the same findings must not change anything, so no write happens.
			again := desiredStatus(got, tt.found, metav1.Unix(300, 0))
			require.Equal(t, got, again)
		})
	}

	t.Run("transition time moves only when the status changes", func(t *testing.T) {
		t.Parallel()
		current := corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating, Conditions: []corev1.NamespaceCondition{
			{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Reason: reasonSomeResourcesRemain, LastTransitionTime: earlier},
			{Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionFalse, Reason: reasonContentDeleted, LastTransitionTime: earlier},
		}}
		got := desiredStatus(current, content{finalizers: sets.New[string]()}, now)
		times := map[corev1.NamespaceConditionType]metav1.Time{}
		for _, c := range got.Conditions {
			times[c.Type] = c.LastTransitionTime
		}
		require.Equal(t, now, times[corev1.NamespaceContentRemaining])
		require.Equal(t, earlier, times[corev1.NamespaceDeletionContentFailure])
		require.Equal(t, now, times[corev1.NamespaceFinalizersRemaining])
	})
}

// world is what a stubbed reconciler sees and records.
type world struct {
	namespace    *corev1.Namespace
	getErr       error
	lists        []*metav1.APIResourceList
	discoverErr  error
	deleteErrs   map[schema.GroupVersionResource]error
	remaining    map[schema.GroupVersionResource][]metav1.PartialObjectMetadata
	deleted      []schema.GroupVersionResource
	statusWrites []corev1.NamespaceStatus
	finalizeErr  error
	// finalizeWrite is what finalize wrote, finalizerWrite what update wrote to the metadata
	// finalizers; nil when not written.
	finalizeWrite  []corev1.FinalizerName
	finalizerWrite []string
	clusters       sets.Set[string]
}

func (w *world) reconciler() *reconciler {
	w.clusters = sets.New[string]()
	return &reconciler{
		getNamespace: func(_ context.Context, cluster, _ string) (*corev1.Namespace, error) {
			w.clusters.Insert(cluster)
			return w.namespace, w.getErr
		},
		updateStatus: func(_ context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error) {
			w.clusters.Insert(cluster)
			w.statusWrites = append(w.statusWrites, ns.Status)
			return ns, nil
		},
		update: func(_ context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error) {
			w.clusters.Insert(cluster)
			w.finalizerWrite = ns.Finalizers
			if w.finalizerWrite == nil {
				w.finalizerWrite = []string{}
			}
			return ns, nil
		},
		finalize: func(_ context.Context, cluster string, ns *corev1.Namespace) (*corev1.Namespace, error) {
			w.clusters.Insert(cluster)
			if w.finalizeErr != nil {
				return nil, w.finalizeErr
			}
			w.finalizeWrite = ns.Spec.Finalizers
			if w.finalizeWrite == nil {
				w.finalizeWrite = []corev1.FinalizerName{}
			}
			return ns, nil
		},
		discover: func(_ context.Context, cluster string) ([]*metav1.APIResourceList, error) {
			w.clusters.Insert(cluster)
			return w.lists, w.discoverErr
		},
		deleteCollection: func(_ context.Context, cluster, namespace string, gvr schema.GroupVersionResource) error {
			w.clusters.Insert(cluster)
			if namespace != w.namespace.Name {
				return errors.New("wrong namespace")
			}
			w.deleted = append(w.deleted, gvr)
			return w.deleteErrs[gvr]
		},
		listOne: func(_ context.Context, cluster, _ string, gvr schema.GroupVersionResource) (*metav1.PartialObjectMetadataList, error) {
			w.clusters.Insert(cluster)
			items := w.remaining[gvr]
			list := &metav1.PartialObjectMetadataList{}
			if len(items) > 0 {
				list.Items = items[:1]
				if rest := int64(len(items) - 1); rest > 0 {
					list.RemainingItemCount = &rest
				}
			}
			return list, nil
		},
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	deleted := metav1.Unix(100, 0)
	terminatingNamespace := func(finalizers ...corev1.FinalizerName) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", DeletionTimestamp: &deleted},
			Spec: corev1.NamespaceSpec{Finalizers: finalizers}}
	}
	// legacyNamespace is a deleted namespace as earlier versions created it.
	legacyNamespace := func(finalizers ...string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", DeletionTimestamp: &deleted, Finalizers: finalizers}}
	}
	verbs := []string{"delete", "deletecollection", "list"}
	discovered := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "configmaps", Namespaced: true, Verbs: verbs}, {Name: "secrets", Namespaced: true, Verbs: verbs}}},
	}
	tests := []struct {
		name               string
		world              *world
		wantErr            error
		wantAnyErr         bool
		wantDeleted        []schema.GroupVersionResource
		wantStatusWrites   int
		wantFinalizeWrite  []corev1.FinalizerName
		wantFinalizerWrite []string
		check              func(t *testing.T, w *world)
	}{
		{
			name:  "namespace gone",
			world: &world{namespace: terminatingNamespace(), getErr: apierrors.NewNotFound(corev1.Resource("namespaces"), "team")},
		},
		{
			name: "namespace not deleted",
			world: &world{namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"},
				Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{finalizer}}}},
		},
		{
			name: "active namespace of an earlier version gets the spec finalizer, then loses the legacy one",
			world: &world{namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Finalizers: []string{"example.com/x", legacyFinalizer}},
				Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/y"}}}},
			wantFinalizeWrite:  []corev1.FinalizerName{"example.com/y", finalizer},
			wantFinalizerWrite: []string{"example.com/x"},
		},
		{
			name: "a migration interrupted after finalize completes",
			world: &world{namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Finalizers: []string{legacyFinalizer}},
				Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{finalizer}}}},
			wantFinalizerWrite: []string{},
		},
		{
			name:  "finalizer already removed",
			world: &world{namespace: terminatingNamespace("example.com/other")},
		},
		{
			name:  "a metadata finalizer of another name is not ours",
			world: &world{namespace: legacyNamespace("example.com/other")},
		},
		{
			name: "empty namespace is released through finalize, other finalizers kept",
			world: func() *world {
				ns := terminatingNamespace("example.com/other", finalizer)
				ns.Finalizers = []string{"example.com/meta"}
				return &world{namespace: ns, lists: discovered}
			}(),
			wantDeleted:       []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites:  1,
			wantFinalizeWrite: []corev1.FinalizerName{"example.com/other"},
		},
		{
			name:               "namespace of an earlier version is emptied and released by an update",
			world:              &world{namespace: legacyNamespace("example.com/other", legacyFinalizer), lists: discovered},
			wantDeleted:        []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites:   1,
			wantFinalizerWrite: []string{"example.com/other"},
		},
		{
			name: "both forms are released, spec first",
			world: func() *world {
				ns := terminatingNamespace(finalizer)
				ns.Finalizers = []string{legacyFinalizer}
				return &world{namespace: ns, lists: discovered}
			}(),
			wantDeleted:        []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites:   1,
			wantFinalizeWrite:  []corev1.FinalizerName{},
			wantFinalizerWrite: []string{},
		},
		{
			name: "a conflicting finalize is retried, the legacy finalizer stays until then",
			world: func() *world {
				ns := terminatingNamespace(finalizer)
				ns.Finalizers = []string{legacyFinalizer}
				return &world{namespace: ns, lists: discovered, finalizeErr: apierrors.NewConflict(corev1.Resource("namespaces"), "team", errors.New("changed"))}
			}(),
			wantAnyErr:       true,
			wantDeleted:      []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites: 1,
		},
		{
			name: "content with finalizers keeps the namespace",
			world: &world{namespace: terminatingNamespace(finalizer), lists: discovered, remaining: map[schema.GroupVersionResource][]metav1.PartialObjectMetadata{
				secrets: {
					{ObjectMeta: metav1.ObjectMeta{Name: "a", Finalizers: []string{"example.com/keep"}}},
					{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
				},
			}},
			wantErr:          errContentRemaining,
			wantDeleted:      []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites: 1,
			check: func(t *testing.T, w *world) {
				t.Helper()
				status := w.statusWrites[0]
				require.Equal(t, corev1.NamespaceTerminating, status.Phase)
				for _, c := range status.Conditions {
					switch c.Type {
					case corev1.NamespaceContentRemaining:
						require.Equal(t, "Resources remain: secrets (2)", c.Message)
					case corev1.NamespaceFinalizersRemaining:
						require.Equal(t, corev1.ConditionTrue, c.Status)
					}
				}
			},
		},
		{
			name: "failed deletion keeps the namespace and goes on with other resources",
			world: &world{namespace: terminatingNamespace(finalizer), lists: discovered, deleteErrs: map[schema.GroupVersionResource]error{
				configMaps: apierrors.NewInternalError(errors.New("boom")),
				secrets:    apierrors.NewNotFound(secrets.GroupResource(), ""),
			}},
			wantAnyErr:       true,
			wantDeleted:      []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites: 1,
		},
		{
			name:             "partial discovery deletes what was found but keeps the namespace",
			world:            &world{namespace: terminatingNamespace(finalizer), lists: discovered, discoverErr: errors.New("example.com/v1 unavailable")},
			wantAnyErr:       true,
			wantDeleted:      []schema.GroupVersionResource{configMaps, secrets},
			wantStatusWrites: 1,
		},
		{
			name: "status already current is not written",
			world: func() *world {
				ns := terminatingNamespace(finalizer)
				ns.Status = desiredStatus(ns.Status, content{finalizers: sets.New[string]()}, deleted)
				return &world{namespace: ns, lists: discovered}
			}(),
			wantDeleted:       []schema.GroupVersionResource{configMaps, secrets},
			wantFinalizeWrite: []corev1.FinalizerName{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.world.reconciler()
			err := r.reconcile(t.Context(), namespaceKey{cluster: "abc", name: "team"})
			switch {
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
			case tt.wantAnyErr:
				require.Error(t, err)
				require.NotErrorIs(t, err, errContentRemaining)
			default:
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantDeleted, tt.world.deleted)
			require.Len(t, tt.world.statusWrites, tt.wantStatusWrites)
			require.Equal(t, tt.wantFinalizeWrite, tt.world.finalizeWrite)
			require.Equal(t, tt.wantFinalizerWrite, tt.world.finalizerWrite)
			require.Equal(t, sets.New("abc"), tt.world.clusters, "every call must stay in the namespace's account")
			if tt.check != nil {
				tt.check(t, tt.world)
			}
		})
	}
}
