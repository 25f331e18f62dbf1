package garbagecollector

import (
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var (
	configMaps = Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Kind: "ConfigMap", Namespaced: true}
	widgets    = Resource{GVR: schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}, Kind: "Widget", Namespaced: true}
	things     = Resource{GVR: schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "things"}, Kind: "Thing"}
)

// newObject returns an object of a resource in an account, owned through refs.
func newObject(cluster string, r Resource, namespace, name string, uid types.UID, refs ...metav1.OwnerReference) object {
	return object{identity: identity{cluster: cluster, resource: r, namespace: namespace, name: name, uid: uid}, owners: refs}
}

// ownedBy returns a reference to owner.
func ownedBy(owner object, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         owner.resource.GVR.GroupVersion().String(),
		Kind:               owner.resource.Kind,
		Name:               owner.name,
		UID:                owner.uid,
		BlockOwnerDeletion: &block,
	}
}

// deleting returns o marked for deletion with the given finalizers.
func deleting(o object, finalizers ...string) object {
	o.beingDeleted = true
	o.finalizers = finalizers
	return o
}

func TestGraphEvents(t *testing.T) {
	t.Parallel()
	owner := newObject("a", widgets, "ns", "owner", "owner-uid")
	otherNamespaceOwner := newObject("a", widgets, "other", "owner", "owner-uid")
	dependent := newObject("a", configMaps, "ns", "dep", "dep-uid", ownedBy(owner, true))

	// event is one change fed to the graph: an observed object, or a deletion when forget is set.
	type event struct {
		object object
		forget bool
	}
	tests := []struct {
		name   string
		before []event
		event  event
		want   []objectKey
	}{
		{
			name:   "dependent of an observed owner needs nothing",
			before: []event{{object: owner}},
			event:  event{object: dependent},
		},
		{
			name:  "dependent of an unobserved owner is checked",
			event: event{object: dependent},
			want:  []objectKey{dependent.key()},
		},
		{
			name:   "an owner in another namespace is not the owner",
			before: []event{{object: otherNamespaceOwner}},
			event:  event{object: dependent},
			want:   []objectKey{dependent.key()},
		},
		{
			name:   "dependent of an owner deleted in the foreground is checked",
			before: []event{{object: deleting(owner, metav1.FinalizerDeleteDependents)}},
			event:  event{object: dependent},
			want:   []objectKey{dependent.key(), owner.key()},
		},
		{
			name:   "update without owner change needs nothing",
			before: []event{{object: owner}, {object: dependent}},
			event:  event{object: dependent},
		},
		{
			name:   "owner deleted in the foreground processes itself",
			before: []event{{object: owner}, {object: dependent}},
			event:  event{object: deleting(owner, metav1.FinalizerDeleteDependents)},
			want:   []objectKey{owner.key()},
		},
		{
			name:   "owner deleted with orphan processes itself",
			before: []event{{object: owner}, {object: dependent}},
			event:  event{object: deleting(owner, metav1.FinalizerOrphanDependents)},
			want:   []objectKey{owner.key()},
		},
		{
			name:   "dependent dropping a waiting owner wakes it",
			before: []event{{object: deleting(owner, metav1.FinalizerDeleteDependents)}, {object: dependent}},
			event:  event{object: newObject("a", configMaps, "ns", "dep", "dep-uid")},
			want:   []objectKey{owner.key()},
		},
		{
			name:   "deleted owner queues its dependents",
			before: []event{{object: owner}, {object: dependent}},
			event:  event{object: owner, forget: true},
			want:   []objectKey{dependent.key()},
		},
		{
			name:   "deleted dependent wakes its waiting owner",
			before: []event{{object: deleting(owner, metav1.FinalizerDeleteDependents)}, {object: dependent}},
			event:  event{object: dependent, forget: true},
			want:   []objectKey{owner.key()},
		},
		{
			name:  "deleting an unknown object needs nothing",
			event: event{object: owner, forget: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph()
			for _, e := range tt.before {
				if e.forget {
					g.forget(e.object.key())
				} else {
					g.observe(e.object)
				}
			}
			var got []objectKey
			if tt.event.forget {
				got = g.forget(tt.event.object.key())
			} else {
				got = g.observe(tt.event.object)
			}
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestGraphVirtualNodes(t *testing.T) {
	t.Parallel()
	g := newGraph()
	owner := newObject("a", things, "", "owner", "owner-uid")
	dependent := newObject("a", configMaps, "ns", "dep", "dep-uid", ownedBy(owner, false))

	g.observe(dependent)
	_, ok := g.get(owner.key())
	require.False(t, ok, "an owner only referenced is not observed")
	require.Equal(t, []object{dependent}, g.dependents(owner.key()))

	g.observe(owner)
	g.forget(owner.key())
	require.Equal(t, []object{dependent}, g.dependents(owner.key()), "a deleted owner keeps its dependents while they exist")

	g.forget(dependent.key())
	require.Empty(t, g.nodes, "virtual nodes go with their last dependent")
}

func TestGraphIsolatesAccounts(t *testing.T) {
	t.Parallel()
	g := newGraph()
	// Both accounts hold objects with the same UIDs.
	ownerA := newObject("a", things, "", "owner", "uid-1")
	ownerB := newObject("b", things, "", "owner", "uid-1")
	depA := newObject("a", configMaps, "ns", "dep", "uid-2", ownedBy(ownerA, true))
	depB := newObject("b", configMaps, "ns", "dep", "uid-2", ownedBy(ownerB, true))

	g.observe(ownerA)
	require.Equal(t, []objectKey{depB.key()}, g.observe(depB), "account a's owner must not satisfy account b's reference")
	require.Empty(t, g.observe(depA))

	require.Equal(t, []object{depA}, g.dependents(ownerA.key()))
	require.Equal(t, []object{depB}, g.dependents(ownerB.key()))

	require.Equal(t, []objectKey{depA.key()}, g.forget(ownerA.key()), "deleting account a's owner only affects account a")
	got, ok := g.get(depB.key())
	require.True(t, ok)
	require.Equal(t, depB, got)

	require.Equal(t, []objectKey{depB.key()}, g.observe(deleting(depB, metav1.FinalizerDeleteDependents)))
}

func TestRefers(t *testing.T) {
	t.Parallel()
	owner := newObject("a", widgets, "ns", "owner", "owner-uid")
	kindless := owner
	kindless.resource.Kind = ""
	ref := ownedBy(owner, true)
	tests := []struct {
		name      string
		ref       func(metav1.OwnerReference) metav1.OwnerReference
		owner     object
		namespace string
		want      bool
	}{
		{name: "same kind, group, name and namespace", owner: owner, namespace: "ns", want: true},
		{name: "another version of the group", ref: func(r metav1.OwnerReference) metav1.OwnerReference { r.APIVersion = "example.com/v2"; return r }, owner: owner, namespace: "ns", want: true},
		{name: "another kind", ref: func(r metav1.OwnerReference) metav1.OwnerReference { r.Kind = "Gadget"; return r }, owner: owner, namespace: "ns"},
		{name: "another group", ref: func(r metav1.OwnerReference) metav1.OwnerReference { r.APIVersion = "other.com/v1"; return r }, owner: owner, namespace: "ns"},
		{name: "another name", ref: func(r metav1.OwnerReference) metav1.OwnerReference { r.Name = "x"; return r }, owner: owner, namespace: "ns"},
		{name: "a dependent in another namespace", owner: owner, namespace: "other"},
		{name: "an owner observed without a kind", ref: func(r metav1.OwnerReference) metav1.OwnerReference { r.Kind = "Anything"; return r }, owner: kindless, namespace: "ns", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ref
			if tt.ref != nil {
				r = tt.ref(r)
			}
			require.Equal(t, tt.want, refers(r, tt.owner, tt.namespace))
		})
	}
}
