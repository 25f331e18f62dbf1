package garbagecollector

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDeletableResources(t *testing.T) {
	t.Parallel()
	all := []string{"create", "delete", "deletecollection", "get", "list", "patch", "watch"}
	tests := []struct {
		name  string
		lists []*metav1.APIResourceList
		want  []Resource
	}{
		{name: "nothing discovered"},
		{
			name: "keeps deletable, listable and watchable resources with their kind and scope",
			lists: []*metav1.APIResourceList{
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: all},
					{Name: "namespaces", Kind: "Namespace", Verbs: all},
				}},
				{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: all}}},
			},
			want: []Resource{
				configMaps,
				{GVR: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, Kind: "Namespace"},
				widgets,
			},
		},
		{
			name: "skips events, subresources, read-only resources and bad group versions",
			lists: []*metav1.APIResourceList{
				nil,
				{GroupVersion: "a/b/c", APIResources: []metav1.APIResource{{Name: "broken", Verbs: all}}},
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "events", Kind: "Event", Namespaced: true, Verbs: all},
					{Name: "configmaps/status", Kind: "ConfigMap", Namespaced: true, Verbs: all},
				}},
				{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "events", Kind: "Event", Namespaced: true, Verbs: all}}},
				{GroupVersion: "core.accountmesh.io/v1alpha1", APIResources: []metav1.APIResource{
					{Name: "accountinfos", Kind: "AccountInfo", Verbs: []string{"get", "list", "watch"}},
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, deletableResources(tt.lists))
		})
	}
}

func TestKindsResolve(t *testing.T) {
	t.Parallel()
	gadgets := metav1.APIResourceList{GroupVersion: "example.com/v2", APIResources: []metav1.APIResource{
		{Name: "gadgets/status", Kind: "Gadget"},
		{Name: "gadgets", Kind: "Gadget", Namespaced: true},
	}}
	tests := []struct {
		name       string
		apiVersion string
		kind       string
		want       Resource
		wantErr    error
		wantAsked  []string
	}{
		{name: "watched kind needs no discovery", apiVersion: "example.com/v1", kind: "Widget", want: widgets},
		{
			name: "other kinds are discovered in the owner's account", apiVersion: "example.com/v2", kind: "Gadget",
			want:      Resource{GVR: schema.GroupVersionResource{Group: "example.com", Version: "v2", Resource: "gadgets"}, Kind: "Gadget", Namespaced: true},
			wantAsked: []string{"acct/example.com/v2"},
		},
		{
			name: "kind missing from its group version", apiVersion: "example.com/v2", kind: "Gizmo",
			wantErr: errUnknownKind, wantAsked: []string{"acct/example.com/v2"},
		},
		{
			name: "group version the account does not serve", apiVersion: "other.example.com/v1", kind: "Widget",
			wantErr: errUnknownKind, wantAsked: []string{"acct/other.example.com/v1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asked []string
			k := &kinds{
				known: map[schema.GroupVersionKind]Resource{},
				discover: func(_ context.Context, cluster, groupVersion string) (*metav1.APIResourceList, error) {
					asked = append(asked, cluster+"/"+groupVersion)
					if groupVersion != gadgets.GroupVersion {
						return nil, apierrors.NewNotFound(schema.GroupResource{}, groupVersion)
					}
					return &gadgets, nil
				},
			}
			k.add(widgets)
			got, err := k.resolve(t.Context(), "acct", tt.apiVersion, tt.kind)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.False(t, apierrors.IsNotFound(err), "a kind the account does not serve must not read as a missing owner")
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
			}
			require.Equal(t, tt.wantAsked, asked)
		})
	}
}
