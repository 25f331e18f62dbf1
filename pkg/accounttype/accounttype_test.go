package accounttype

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// tree is a Source over an in-memory tree: types per account and parents.
type tree struct {
	types   map[cluster.ID]map[string]corev1alpha1.AccountTypeSpec
	parents map[cluster.ID]cluster.ID
}

func (t tree) Get(_ context.Context, id cluster.ID, name string) (*corev1alpha1.AccountType, error) {
	spec, ok := t.types[id][name]
	if !ok {
		return nil, nil
	}
	return &corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, nil
}

func (t tree) Parent(_ context.Context, id cluster.ID) (cluster.ID, bool, error) {
	p, ok := t.parents[id]
	return p, ok, nil
}

func builtins() tree {
	return tree{
		types: map[cluster.ID]map[string]corev1alpha1.AccountTypeSpec{
			"root": {
				"root":     {AllowedChildren: []string{"org", "provider"}, DefaultChildType: "org"},
				"org":      {AllowedParents: []string{"root"}, DefaultChildType: "account"},
				"account":  {AllowedParents: []string{"org", "account"}, DefaultChildType: "account"},
				"provider": {AllowedParents: []string{"root", "org"}},
			},
			"acme": {
				"team":    {Extends: "account", Initializers: []string{"example.com/audit"}, Labels: map[string]string{"kind": "team"}},
				"project": {Extends: "team", AllowedParents: []string{"team"}, Terminators: []string{"example.com/archive"}},
				"loop-a":  {Extends: "loop-b"},
				"loop-b":  {Extends: "loop-a"},
			},
		},
		parents: map[cluster.ID]cluster.ID{"acme": "root", "teamx": "acme", "other": "root"},
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	src := builtins()
	ctx := context.Background()

	project, err := Resolve(ctx, src, "teamx", "project")
	require.NoError(t, err)
	require.Equal(t, []string{"project", "team", "account"}, project.Lineage)
	require.Equal(t, cluster.ID("acme"), project.DefinedIn)
	require.Equal(t, []string{"team"}, project.AllowedParents)
	require.Equal(t, "account", project.DefaultChildType)
	require.Equal(t, []string{"example.com/audit"}, project.Initializers)
	require.Equal(t, []string{"example.com/archive"}, project.Terminators)
	require.Equal(t, map[string]string{"kind": "team"}, project.Labels)
	require.True(t, project.Is("account"))
	require.False(t, project.Is("org"))
	require.Equal(t, append(append([]string{}, corev1alpha1.BuiltinInitializers...), "example.com/audit"), project.AccountInitializers())

	// A type defined in acme is not usable outside acme's subtree.
	_, err = Resolve(ctx, src, "other", "team")
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Contains(t, err.Error(), `"team"`)

	_, err = Resolve(ctx, src, "acme", "loop-a")
	require.ErrorContains(t, err, "cycle")
}

func TestCheckChild(t *testing.T) {
	t.Parallel()
	src := builtins()
	ctx := context.Background()
	resolve := func(from cluster.ID, name string) *Type {
		t.Helper()
		typ, err := Resolve(ctx, src, from, name)
		require.NoError(t, err)
		return typ
	}
	for _, tc := range []struct {
		parent, child *Type
		wantErr       string
	}{
		{resolve("root", "root"), resolve("root", "org"), ""},
		{resolve("root", "org"), resolve("root", "account"), ""},
		{resolve("acme", "team"), resolve("acme", "team"), ""},    // team is-an account
		{resolve("acme", "team"), resolve("acme", "project"), ""}, // project needs a team parent
		{resolve("root", "org"), resolve("acme", "team"), ""},     // team extends account, allowed under org
		{resolve("root", "root"), resolve("root", "account"), `allows children of type "org", "provider"`},
		{resolve("root", "org"), resolve("root", "org"), `type "org" allows parents of type "root"`},
		{resolve("root", "org"), resolve("acme", "project"), `type "project" allows parents of type "team"`},
	} {
		err := CheckChild(tc.parent, tc.child)
		if tc.wantErr == "" {
			require.NoError(t, err, "%s under %s", tc.child.Name, tc.parent.Name)
		} else {
			require.ErrorContains(t, err, tc.wantErr, "%s under %s", tc.child.Name, tc.parent.Name)
		}
	}
}
