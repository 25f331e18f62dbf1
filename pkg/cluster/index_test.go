package cluster

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIndexResolve(t *testing.T) {
	t.Parallel()
	idx := NewIndex("rootid0000000000")
	// Children may arrive before their parents: the informer lists in key order, not depth order.
	idx.Set("acmeid0000000000", "team-a", "teamaid000000000", Attributes{})
	idx.Set("rootid0000000000", "acme", "acmeid0000000000", Attributes{})
	idx.Set("rootid0000000000", "other", "otherid000000000", Attributes{})
	idx.Set("otherid000000000", "team-a", "otherteamaid0000", Attributes{})

	for _, tc := range []struct {
		in     string
		want   ID
		wantOK bool
	}{
		{"root", "rootid0000000000", true},
		{"rootid0000000000", "rootid0000000000", true},
		{"root:acme", "acmeid0000000000", true},
		{"root:acme:team-a", "teamaid000000000", true},
		{"root:other:team-a", "otherteamaid0000", true},
		{"teamaid000000000", "teamaid000000000", true},
		{"root:acme:team-b", "", false},
		{"root:acmex", "", false},
		{"acme", "", false},
		{"other:acme", "", false},
		{"unknownid0000000", "", false},
		{"", "", false},
	} {
		got, ok := idx.Resolve(tc.in)
		require.Equal(t, tc.wantOK, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}

	e, ok := idx.Lookup("teamaid000000000")
	require.True(t, ok)
	require.Equal(t, Entry{ID: "teamaid000000000", Path: "root:acme:team-a", Parent: "acmeid0000000000"}, e)
	idx.Set("acmeid0000000000", "team-a", "teamaid000000000", Attributes{Type: "team", Owner: "alice"})
	e, _ = idx.Lookup("teamaid000000000")
	require.Equal(t, Attributes{Type: "team", Owner: "alice"}, e.Attributes)
	root, _ := idx.Lookup("rootid0000000000")
	require.Equal(t, "root", root.Type)
}

func TestIndexDelete(t *testing.T) {
	t.Parallel()
	idx := NewIndex("r")
	idx.Set("r", "a", "aid", Attributes{})
	idx.Set("aid", "b", "bid", Attributes{})
	idx.Delete("aid")
	_, ok := idx.Resolve("root:a")
	require.False(t, ok)
	// An orphan is not reachable, by path or by ID, until its parent is back.
	_, ok = idx.Resolve("bid")
	require.False(t, ok)
	_, ok = idx.Lookup("bid")
	require.False(t, ok)
	idx.Set("r", "a", "aid", Attributes{})
	got, ok := idx.Resolve("root:a:b")
	require.True(t, ok)
	require.Equal(t, ID("bid"), got)
	// Moving a name to a new ID replaces the old entry.
	idx.Set("r", "a", "aid2", Attributes{})
	got, _ = idx.Resolve("root:a")
	require.Equal(t, ID("aid2"), got)
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[ID]bool{}
	for range 1000 {
		id := NewID()
		require.True(t, IsValidID(string(id)), id)
		require.False(t, seen[id])
		seen[id] = true
	}
	require.False(t, IsValidID("root"))
	require.False(t, IsValidID("0bcdefghijklmnop"))
}

func TestIndexParentAndChildren(t *testing.T) {
	t.Parallel()
	idx := NewIndex("rootid0000000000")
	idx.Set("rootid0000000000", "a", "aid0000000000000", Attributes{})
	idx.Set("aid0000000000000", "b", "bid0000000000000", Attributes{})
	idx.Set("aid0000000000000", "c", "cid0000000000000", Attributes{})
	for _, tc := range []struct {
		id     ID
		parent ID
		ok     bool
	}{
		{"bid0000000000000", "aid0000000000000", true},
		{"aid0000000000000", "rootid0000000000", true},
		{"rootid0000000000", "", false},
		{"unknown000000000", "", false},
	} {
		parent, ok := idx.Parent(tc.id)
		require.Equal(t, tc.ok, ok, tc.id)
		require.Equal(t, tc.parent, parent, tc.id)
	}
	require.ElementsMatch(t, []ID{"bid0000000000000", "cid0000000000000"}, idx.Children("aid0000000000000"))
	require.Empty(t, idx.Children("bid0000000000000"))
}

func TestIndexUsageAndLimits(t *testing.T) {
	t.Parallel()
	i := NewIndex("root")
	three, one, five := int32(3), int32(1), int32(5)
	i.Set("root", "org", "org", Attributes{Limits: &Limits{MaxSubtreeAccounts: &three, MaxChildAccounts: &five}})
	i.Set("org", "a", "a", Attributes{Limits: &Limits{MaxChildAccounts: &one}})
	i.Set("org", "b", "b", Attributes{})
	i.Set("a", "c", "c", Attributes{Limits: &Limits{MaxSubtreeAccounts: &five}})

	children, subtree := i.Usage("org")
	require.Equal(t, [2]int{2, 3}, [2]int{children, subtree})
	children, subtree = i.Usage("c")
	require.Equal(t, [2]int{0, 0}, [2]int{children, subtree})

	maxChild, maxSubtree := i.Limits("c")
	require.Equal(t, Limit{Value: 1, SetBy: "a"}, maxChild, "the smallest along the path")
	require.Equal(t, []Limit{{Value: 5, SetBy: "c"}, {Value: 3, SetBy: "org"}}, maxSubtree, "nearest first")
	maxChild, maxSubtree = i.Limits("b")
	require.Equal(t, Limit{Value: 5, SetBy: "org"}, maxChild)
	require.Equal(t, []Limit{{Value: 3, SetBy: "org"}}, maxSubtree)
	maxChild, maxSubtree = i.Limits("root")
	require.Empty(t, maxChild.SetBy)
	require.Empty(t, maxSubtree)
}
