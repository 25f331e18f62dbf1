package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestPlanCollection(t *testing.T) {
	t.Parallel()
	block := true
	unblocked := false
	refA := metav1.OwnerReference{Kind: "Thing", Name: "a", UID: "a", BlockOwnerDeletion: &block}
	refB := metav1.OwnerReference{Kind: "Thing", Name: "b", UID: "b", BlockOwnerDeletion: &block}
	refBUnblocked := refB
	refBUnblocked.BlockOwnerDeletion = &unblocked
	tests := []struct {
		name       string
		refs       []metav1.OwnerReference
		states     map[types.UID]ownerState
		finalizers []string
		cycle      bool
		want       plan
	}{
		{
			name:   "owner present keeps the dependent",
			refs:   []metav1.OwnerReference{refA},
			states: map[types.UID]ownerState{"a": ownerPresent},
		},
		{
			name:   "only owner absent deletes in the background",
			refs:   []metav1.OwnerReference{refA},
			states: map[types.UID]ownerState{"a": ownerAbsent},
			want:   plan{policy: metav1.DeletePropagationBackground},
		},
		{
			name:       "dependent asking for orphan keeps its policy",
			refs:       []metav1.OwnerReference{refA},
			states:     map[types.UID]ownerState{"a": ownerAbsent},
			finalizers: []string{metav1.FinalizerOrphanDependents},
			want:       plan{policy: metav1.DeletePropagationOrphan},
		},
		{
			name:       "dependent asking for foreground keeps its policy",
			refs:       []metav1.OwnerReference{refA},
			states:     map[types.UID]ownerState{"a": ownerAbsent},
			finalizers: []string{metav1.FinalizerDeleteDependents},
			want:       plan{policy: metav1.DeletePropagationForeground},
		},
		{
			name:   "one of two owners absent removes the dangling reference",
			refs:   []metav1.OwnerReference{refA, refB},
			states: map[types.UID]ownerState{"a": ownerPresent, "b": ownerAbsent},
			want:   plan{patch: true, owners: []metav1.OwnerReference{refA}},
		},
		{
			name:   "owner present and owner waiting unblocks the waiting one",
			refs:   []metav1.OwnerReference{refA, refB},
			states: map[types.UID]ownerState{"a": ownerPresent, "b": ownerWaiting},
			want:   plan{patch: true, owners: []metav1.OwnerReference{refA, refBUnblocked}},
		},
		{
			name:   "owner waiting deletes in the foreground",
			refs:   []metav1.OwnerReference{refB},
			states: map[types.UID]ownerState{"b": ownerWaiting},
			want:   plan{policy: metav1.DeletePropagationForeground},
		},
		{
			name:   "owner waiting and owner absent deletes in the foreground",
			refs:   []metav1.OwnerReference{refA, refB},
			states: map[types.UID]ownerState{"a": ownerAbsent, "b": ownerWaiting},
			want:   plan{policy: metav1.DeletePropagationForeground},
		},
		{
			name:   "owner waiting in a cycle unblocks before deleting",
			refs:   []metav1.OwnerReference{refB},
			states: map[types.UID]ownerState{"b": ownerWaiting},
			cycle:  true,
			want:   plan{patch: true, owners: []metav1.OwnerReference{refBUnblocked}, policy: metav1.DeletePropagationForeground},
		},
		{
			name:   "unresolvable reference keeps the dependent but dangling ones go",
			refs:   []metav1.OwnerReference{refA, refB},
			states: map[types.UID]ownerState{"a": ownerUnresolvable, "b": ownerAbsent},
			want:   plan{patch: true, owners: []metav1.OwnerReference{refA}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := planCollection(tt.refs, tt.states, tt.finalizers, tt.cycle)
			if !tt.want.patch {
				got.owners = nil
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestPlanForeground(t *testing.T) {
	t.Parallel()
	owner := deleting(newObject("a", widgets, "ns", "owner", "owner-uid"), metav1.FinalizerDeleteDependents)
	blocking := newObject("a", configMaps, "ns", "blocking", "1", ownedBy(owner, true))
	nonBlocking := newObject("a", configMaps, "ns", "free", "2", ownedBy(owner, false))
	otherNamespace := newObject("a", configMaps, "other", "stray", "3", ownedBy(owner, true))
	tests := []struct {
		name        string
		dependents  []object
		wantCollect []objectKey
		wantBlocked bool
	}{
		{name: "no dependents frees the owner"},
		{
			name:        "non-blocking dependents are deleted without holding the owner",
			dependents:  []object{nonBlocking},
			wantCollect: []objectKey{nonBlocking.key()},
		},
		{
			name:        "blocking dependent holds the owner",
			dependents:  []object{blocking, nonBlocking},
			wantCollect: []objectKey{blocking.key(), nonBlocking.key()},
			wantBlocked: true,
		},
		{
			name:        "blocking dependent being deleted holds the owner but is not deleted again",
			dependents:  []object{deleting(blocking)},
			wantBlocked: true,
		},
		{
			name:       "a dependent in another namespace is not the owner's",
			dependents: []object{otherNamespace},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			collect, blocked := planForeground(owner, tt.dependents)
			require.Equal(t, tt.wantCollect, collect)
			require.Equal(t, tt.wantBlocked, blocked)
		})
	}
}

// server is a stubbed API server for the reconciler: objects live under account, namespace and
// name, and every write is recorded.
type server struct {
	objects  map[string]*metav1.PartialObjectMetadata
	ownerErr error
	patchErr error

	objectReads  int
	ownerLookups []string
	patches      map[string]map[string]any
	deletes      map[string]metav1.DeletionPropagation
	enqueued     []objectKey
}

func path(cluster, namespace, name string) string { return cluster + "/" + namespace + "/" + name }

// live returns the stored metadata of o.
func live(o object) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: o.name, Namespace: o.namespace, UID: o.uid, ResourceVersion: "7",
		OwnerReferences: o.owners, Finalizers: o.finalizers, DeletionTimestamp: deletionTimestamp(o),
	}}
}

func deletionTimestamp(o object) *metav1.Time {
	if !o.beingDeleted {
		return nil
	}
	ts := metav1.Unix(1, 0)
	return &ts
}

func (s *server) reconciler(g graphReader) *reconciler {
	s.patches = map[string]map[string]any{}
	s.deletes = map[string]metav1.DeletionPropagation{}
	get := func(key string) (*metav1.PartialObjectMetadata, error) {
		if o, ok := s.objects[key]; ok {
			return o, nil
		}
		return nil, apierrors.NewNotFound(widgets.GVR.GroupResource(), key)
	}
	return &reconciler{
		graph: g,
		getObject: func(_ context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
			s.objectReads++
			return get(path(id.cluster, id.namespace, id.name))
		},
		getOwner: func(_ context.Context, cluster, namespace string, ref metav1.OwnerReference) (*metav1.PartialObjectMetadata, error) {
			s.ownerLookups = append(s.ownerLookups, cluster)
			if s.ownerErr != nil {
				return nil, s.ownerErr
			}
			if o, err := get(path(cluster, namespace, ref.Name)); err == nil {
				return o, nil
			}
			return get(path(cluster, "", ref.Name))
		},
		patch: func(_ context.Context, id identity, data []byte) error {
			if s.patchErr != nil {
				return s.patchErr
			}
			var p struct {
				Metadata map[string]any `json:"metadata"`
			}
			if err := json.Unmarshal(data, &p); err != nil {
				return err
			}
			s.patches[path(id.cluster, id.namespace, id.name)] = p.Metadata
			return nil
		},
		delete: func(_ context.Context, id identity, policy metav1.DeletionPropagation) error {
			s.deletes[path(id.cluster, id.namespace, id.name)] = policy
			return nil
		},
		enqueue: func(key objectKey) { s.enqueued = append(s.enqueued, key) },
	}
}

// ownerUIDsIn returns the owner UIDs a recorded patch sets.
func ownerUIDsIn(t *testing.T, patch map[string]any) []string {
	t.Helper()
	require.Contains(t, patch, "ownerReferences")
	require.Equal(t, "7", patch["resourceVersion"], "patches must carry the resource version read")
	refs, _ := patch["ownerReferences"].([]any)
	uids := []string{}
	for _, ref := range refs {
		uids = append(uids, ref.(map[string]any)["uid"].(string))
	}
	return uids
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	owner := newObject("a", widgets, "ns", "owner", "owner-uid")
	other := newObject("a", widgets, "ns", "other", "other-uid")
	clusterOwner := newObject("a", things, "", "thing", "thing-uid")
	dependent := newObject("a", configMaps, "ns", "dep", "dep-uid", ownedBy(owner, true))
	twoOwners := newObject("a", configMaps, "ns", "dep", "dep-uid", ownedBy(owner, true), ownedBy(other, true))
	depPath := path("a", "ns", "dep")

	tests := []struct {
		name string
		// graph holds the observed objects; live the objects on the server.
		graph    []object
		live     []object
		key      objectKey
		ownerErr error
		patchErr error
		// unsynced makes the graph report that a source has not listed yet.
		unsynced    bool
		wantErr     bool
		wantRequeue time.Duration
		check       func(t *testing.T, s *server)
	}{
		{
			name:  "owner in the graph keeps the dependent without live reads",
			graph: []object{owner, dependent},
			live:  []object{owner, dependent},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.objectReads)
				require.Empty(t, s.ownerLookups)
				require.Empty(t, s.deletes)
				require.Empty(t, s.patches)
			},
		},
		{
			name:  "owner missing from the graph but live keeps the dependent",
			graph: []object{dependent},
			live:  []object{owner, dependent},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, []string{"a"}, s.ownerLookups)
				require.Empty(t, s.deletes)
			},
		},
		{
			name:  "owner gone deletes the dependent in the background",
			graph: []object{dependent},
			live:  []object{dependent},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, map[string]metav1.DeletionPropagation{depPath: metav1.DeletePropagationBackground}, s.deletes)
			},
		},
		{
			name:  "owner name taken by another object counts as gone",
			graph: []object{dependent},
			live:  []object{newObject("a", widgets, "ns", "owner", "new-uid"), dependent},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, map[string]metav1.DeletionPropagation{depPath: metav1.DeletePropagationBackground}, s.deletes)
			},
		},
		{
			name:  "one owner gone removes its reference and keeps the dependent",
			graph: []object{other, twoOwners},
			live:  []object{other, twoOwners},
			key:   twoOwners.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.deletes)
				require.Equal(t, []string{"other-uid"}, ownerUIDsIn(t, s.patches[depPath]))
			},
		},
		{
			name:  "owner deleted in the foreground deletes the dependent in the foreground",
			graph: []object{deleting(owner, metav1.FinalizerDeleteDependents), dependent},
			live:  []object{deleting(owner, metav1.FinalizerDeleteDependents), dependent},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, map[string]metav1.DeletionPropagation{depPath: metav1.DeletePropagationForeground}, s.deletes)
			},
		},
		{
			name:  "dependent already gone needs nothing",
			graph: []object{dependent},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.ownerLookups)
				require.Empty(t, s.deletes)
			},
		},
		{
			name:  "dependent replaced by another object needs nothing",
			graph: []object{dependent},
			live:  []object{newObject("a", configMaps, "ns", "dep", "new-uid", ownedBy(owner, true))},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.deletes)
			},
		},
		{
			name:     "failing owner lookup retries without deleting",
			graph:    []object{dependent},
			live:     []object{dependent},
			key:      dependent.key(),
			ownerErr: apierrors.NewServiceUnavailable("starting"),
			wantErr:  true,
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.deletes)
			},
		},
		{
			// A kind only another account defines must not read as a missing owner.
			name:     "owner of a kind the account does not serve keeps the dependent",
			graph:    []object{dependent},
			live:     []object{dependent},
			key:      dependent.key(),
			ownerErr: fmt.Errorf("%w: %w", errUnknownKind, apierrors.NewNotFound(widgets.GVR.GroupResource(), "example.com/v1")),
			wantErr:  true,
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.deletes)
				require.Empty(t, s.patches)
			},
		},
		{
			name:     "cluster-scoped dependent of a namespaced kind is left alone",
			graph:    []object{newObject("a", things, "", "thing", "thing-uid", ownedBy(owner, true))},
			live:     []object{newObject("a", things, "", "thing", "thing-uid", ownedBy(owner, true))},
			key:      clusterOwner.key(),
			ownerErr: errNamespacedOwner,
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.deletes)
				require.Empty(t, s.patches)
			},
		},
		{
			name: "owner with the same UID in another account does not count",
			graph: []object{
				newObject("b", widgets, "ns", "owner", "owner-uid"),
				dependent,
			},
			live: []object{newObject("b", widgets, "ns", "owner", "owner-uid"), dependent},
			key:  dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, []string{"a"}, s.ownerLookups, "the owner is looked up in the dependent's account only")
				require.Equal(t, map[string]metav1.DeletionPropagation{depPath: metav1.DeletePropagationBackground}, s.deletes)
			},
		},
		{
			name:  "foreground owner with a blocking dependent queues it and waits",
			graph: []object{deleting(owner, metav1.FinalizerDeleteDependents), dependent},
			live:  []object{deleting(owner, metav1.FinalizerDeleteDependents), dependent},
			key:   owner.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, []objectKey{dependent.key()}, s.enqueued)
				require.Empty(t, s.patches)
			},
		},
		{
			name: "foreground owner without blocking dependents loses its finalizer",
			graph: []object{
				deleting(owner, "example.com/keep", metav1.FinalizerDeleteDependents),
				newObject("a", configMaps, "ns", "dep", "dep-uid", ownedBy(owner, false)),
			},
			live: []object{deleting(owner, "example.com/keep", metav1.FinalizerDeleteDependents)},
			key:  owner.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, []objectKey{dependent.key()}, s.enqueued)
				patch := s.patches[path("a", "ns", "owner")]
				require.Equal(t, []any{"example.com/keep"}, patch["finalizers"])
				require.Equal(t, "owner-uid", patch["uid"])
			},
		},
		{
			name:  "orphaning owner drops its references, then its finalizer",
			graph: []object{deleting(owner, metav1.FinalizerOrphanDependents), twoOwners},
			live:  []object{deleting(owner, metav1.FinalizerOrphanDependents), twoOwners},
			key:   owner.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.deletes)
				require.Equal(t, []string{"other-uid"}, ownerUIDsIn(t, s.patches[depPath]))
				require.Empty(t, s.patches[path("a", "ns", "owner")]["finalizers"])
				require.Contains(t, s.patches[path("a", "ns", "owner")], "finalizers")
			},
		},
		{
			name:        "orphaning owner waits while a source has not listed",
			graph:       []object{deleting(owner, metav1.FinalizerOrphanDependents), twoOwners},
			live:        []object{deleting(owner, metav1.FinalizerOrphanDependents), twoOwners},
			key:         owner.key(),
			unsynced:    true,
			wantRequeue: unsyncedRetry,
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.patches, "a dependent the graph does not hold yet would lose its owner")
			},
		},
		{
			name:        "foreground owner waits while a source has not listed",
			graph:       []object{deleting(owner, metav1.FinalizerDeleteDependents)},
			live:        []object{deleting(owner, metav1.FinalizerDeleteDependents)},
			key:         owner.key(),
			unsynced:    true,
			wantRequeue: unsyncedRetry,
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.patches)
			},
		},
		{
			name:     "dependent is collected while a source has not listed",
			graph:    []object{dependent},
			live:     []object{dependent},
			key:      dependent.key(),
			unsynced: true,
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Equal(t, map[string]metav1.DeletionPropagation{depPath: metav1.DeletePropagationBackground}, s.deletes)
			},
		},
		{
			name:     "orphaning owner keeps its finalizer while a dependent cannot be orphaned",
			graph:    []object{deleting(owner, metav1.FinalizerOrphanDependents), dependent},
			live:     []object{deleting(owner, metav1.FinalizerOrphanDependents), dependent},
			key:      owner.key(),
			patchErr: apierrors.NewConflict(configMaps.GVR.GroupResource(), "dep", errors.New("changed")),
			wantErr:  true,
		},
		{
			name:  "object being deleted without waiting needs nothing",
			graph: []object{deleting(dependent)},
			live:  []object{deleting(dependent)},
			key:   dependent.key(),
			check: func(t *testing.T, s *server) {
				t.Helper()
				require.Empty(t, s.ownerLookups)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph()
			for _, o := range tt.graph {
				g.observe(o)
			}
			s := &server{objects: map[string]*metav1.PartialObjectMetadata{}, ownerErr: tt.ownerErr, patchErr: tt.patchErr}
			for _, o := range tt.live {
				s.objects[path(o.cluster, o.namespace, o.name)] = live(o)
			}
			r := s.reconciler(g)
			r.graphSynced = func() bool { return !tt.unsynced }
			requeue, err := r.reconcile(t.Context(), tt.key)
			require.Equal(t, tt.wantRequeue, requeue)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}
