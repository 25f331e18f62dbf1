package authorization

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/user"

	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	authz "github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fixedViews makes every account of ids accessible, whoever asks.
type fixedViews []cluster.ID

func (v fixedViews) AccessibleAccounts(user.Info, cluster.ID) []cluster.ID { return v }
func (fixedViews) Grants(cluster.ID) []authz.Grant                         { return nil }

// treeFixture indexes root:acme, root:acme:hidden, root:acme:hidden:team-a, root:acme:team-b
// and root:zeta; hidden is not accessible.
func treeFixture() *AccessibleAccountREST {
	idx := cluster.NewIndex(root)
	idx.Set(root, "acme", "acme", cluster.Attributes{Type: "org", Phase: "Ready"})
	idx.Set("acme", "hidden", "hidden", cluster.Attributes{Type: "account", Phase: "Ready"})
	idx.Set("hidden", "team-a", "team-a", cluster.Attributes{Type: "account", Phase: "Initializing"})
	idx.Set("acme", "team-b", "team-b", cluster.Attributes{Type: "account", Phase: "Ready"})
	idx.Set(root, "zeta", "zeta", cluster.Attributes{Type: "org", Phase: "Terminating"})
	return &AccessibleAccountREST{views: fixedViews{"zeta", "team-b", "acme", "team-a", "gone"}, index: idx}
}

func paths(t *testing.T, obj any) []string {
	t.Helper()
	out := []string{}
	for _, a := range obj.(*authorizationv1alpha1.AccessibleAccountList).Items {
		out = append(out, a.Name)
	}
	return out
}

func TestAccessibleTree(t *testing.T) {
	t.Parallel()
	r := treeFixture()
	list, err := r.List(request(root, "vic"), nil)
	require.NoError(t, err)
	items := list.(*authorizationv1alpha1.AccessibleAccountList).Items
	type row struct {
		path, parent, phase string
		children            int32
	}
	var got []row
	for _, a := range items {
		got = append(got, row{a.Spec.Path, a.Spec.Parent, a.Status.Phase, a.Status.Children})
	}
	require.Equal(t, []row{
		{"root:acme", "", "Ready", 2},
		{"root:acme:hidden:team-a", "root:acme", "Initializing", 0},
		{"root:acme:team-b", "root:acme", "Ready", 0},
		{"root:zeta", "", "Terminating", 0},
	}, got, "the parent is the nearest accessible ancestor; unknown accounts are left out")
}

func TestAccessibleSelectors(t *testing.T) {
	t.Parallel()
	r := treeFixture()
	for _, tc := range []struct {
		name, field, label string
		want               []string
	}{
		{"top level", "spec.parent=", "", []string{"root:acme", "root:zeta"}},
		{"one level", "spec.parent=root:acme", "", []string{"root:acme:hidden:team-a", "root:acme:team-b"}},
		{"type", "spec.type=org", "", []string{"root:acme", "root:zeta"}},
		{"phase", "status.phase!=Ready", "", []string{"root:acme:hidden:team-a", "root:zeta"}},
		{"path", "spec.path=root:zeta", "", []string{"root:zeta"}},
		{"name", "metadata.name=root:acme", "", []string{"root:acme"}},
		{"search ignores case", "search=TEAM", "", []string{"root:acme:hidden:team-a", "root:acme:team-b"}},
		{"search and type", "search=a,spec.type=org", "", []string{"root:acme", "root:zeta"}},
		{"search finds nothing", "search=nope", "", []string{}},
		{"no labels to match", "", "team=a", []string{}},
		{"absent label", "", "!team", []string{"root:acme", "root:acme:hidden:team-a", "root:acme:team-b", "root:zeta"}},
	} {
		opts := &metainternalversion.ListOptions{FieldSelector: fields.Everything(), LabelSelector: labels.Everything()}
		var err error
		if tc.field != "" {
			opts.FieldSelector, err = fields.ParseSelector(tc.field)
			require.NoError(t, err, tc.name)
		}
		if tc.label != "" {
			opts.LabelSelector, err = labels.Parse(tc.label)
			require.NoError(t, err, tc.name)
		}
		list, err := r.List(request(root, "vic"), opts)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, paths(t, list), tc.name)
	}

	sel, err := fields.ParseSelector("search!=a")
	require.NoError(t, err)
	_, err = r.List(request(root, "vic"), &metainternalversion.ListOptions{FieldSelector: sel})
	require.True(t, apierrors.IsBadRequest(err), "%v", err)
}

func TestAccessiblePages(t *testing.T) {
	t.Parallel()
	r := treeFixture()
	var all []string
	opts := &metainternalversion.ListOptions{Limit: 3}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 3)
		obj, err := r.List(request(root, "vic"), opts)
		require.NoError(t, err)
		list := obj.(*authorizationv1alpha1.AccessibleAccountList)
		all = append(all, paths(t, list)...)
		if list.Continue == "" {
			require.Nil(t, list.RemainingItemCount)
			break
		}
		require.Len(t, list.Items, 3)
		require.Equal(t, int64(1), *list.RemainingItemCount)
		opts.Continue = list.Continue
	}
	require.Equal(t, []string{"root:acme", "root:acme:hidden:team-a", "root:acme:team-b", "root:zeta"}, all)

	sel, err := fields.ParseSelector("spec.type=account")
	require.NoError(t, err)
	obj, err := r.List(request(root, "vic"), &metainternalversion.ListOptions{Limit: 2, FieldSelector: sel})
	require.NoError(t, err)
	require.Empty(t, obj.(*authorizationv1alpha1.AccessibleAccountList).Continue, "a full last page has nothing to continue")

	for _, bad := range []string{"garbage!", "e30"} {
		_, err = r.List(request(root, "vic"), &metainternalversion.ListOptions{Continue: bad})
		require.True(t, apierrors.IsBadRequest(err), "%s: %v", bad, err)
	}
}

// BenchmarkAccessibleLevel lists one level of a tree of 10,000 accessible accounts (100 teams
// of 99 projects below an organisation), what the console's tree asks for on each open: the
// whole list is computed, then selected.
func BenchmarkAccessibleLevel(b *testing.B) {
	idx := cluster.NewIndex(root)
	idx.Set(root, "org", "org", cluster.Attributes{Type: "org", Phase: "Ready"})
	ids := []cluster.ID{"org"}
	for i := range 100 {
		team := cluster.ID(fmt.Sprintf("t%02d", i))
		idx.Set("org", string(team), team, cluster.Attributes{Type: "account", Phase: "Ready"})
		ids = append(ids, team)
		for j := range 99 {
			p := cluster.ID(fmt.Sprintf("t%02d-p%03d", i, j))
			idx.Set(team, fmt.Sprintf("p%03d", j), p, cluster.Attributes{Type: "account", Phase: "Ready"})
			ids = append(ids, p)
		}
	}
	r := &AccessibleAccountREST{views: fixedViews(ids), index: idx}
	sel, err := fields.ParseSelector("spec.parent=root:org:t42")
	require.NoError(b, err)
	opts := &metainternalversion.ListOptions{FieldSelector: sel, Limit: 200}
	for b.Loop() {
		list, err := r.List(request(root, "vic"), opts)
		require.NoError(b, err)
		require.Len(b, list.(*authorizationv1alpha1.AccessibleAccountList).Items, 99)
	}
}
