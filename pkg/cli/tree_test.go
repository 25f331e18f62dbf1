package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeAccounts lists children from a map of path to children; paths with an entry in errs fail.
type fakeAccounts struct {
	children map[string][]child
	errs     map[string]error

	mu        sync.Mutex
	inFlight  int
	maxFlight int
	listed    []string
}

func (f *fakeAccounts) list(_ context.Context, path string) ([]child, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxFlight = max(f.maxFlight, f.inFlight)
	f.listed = append(f.listed, path)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if err := f.errs[path]; err != nil {
		return nil, err
	}
	return f.children[path], nil
}

func ch(parent, name, typ, phase string) child {
	return child{name: name, path: parent + ":" + name, typ: typ, phase: phase}
}

func TestBuildTree(t *testing.T) {
	t.Parallel()
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "accounts"}, "")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "accounts"}, "", errors.New("no"))
	tree := map[string][]child{
		// Listed out of order: the tree sorts by name.
		"root":             {ch("root", "other", "org", "Ready"), ch("root", "acme", "org", "Ready")},
		"root:acme":        {ch("root:acme", "team-b", "team", "Initializing"), ch("root:acme", "team-a", "team", "Ready")},
		"root:acme:team-a": {ch("root:acme:team-a", "dev", "", "Ready")},
	}
	tests := []struct {
		name       string
		start      string
		depth      int
		errs       map[string]error
		want       string
		wantListed []string
		wantErr    string
	}{
		{
			name: "everything", start: "root",
			want: `root
├── acme (org, Ready)
│   ├── team-a (team, Ready)
│   │   └── dev (Ready)
│   └── team-b (team, Initializing)
└── other (org, Ready)
`,
			wantListed: []string{"root", "root:acme", "root:acme:team-a", "root:acme:team-a:dev", "root:acme:team-b", "root:other"},
		},
		{
			name: "depth 1", start: "root", depth: 1,
			want: `root
├── acme (org, Ready)
└── other (org, Ready)
`,
			wantListed: []string{"root"},
		},
		{
			name: "depth 2", start: "root", depth: 2,
			want: `root
├── acme (org, Ready)
│   ├── team-a (team, Ready)
│   └── team-b (team, Initializing)
└── other (org, Ready)
`,
			wantListed: []string{"root", "root:acme", "root:other"},
		},
		{
			name: "subtree", start: "root:acme",
			want: `root:acme
├── team-a (team, Ready)
│   └── dev (Ready)
└── team-b (team, Initializing)
`,
			wantListed: []string{"root:acme", "root:acme:team-a", "root:acme:team-a:dev", "root:acme:team-b"},
		},
		{
			name: "an account deleted meanwhile has no children", start: "root:acme",
			errs: map[string]error{"root:acme:team-a": notFound},
			want: `root:acme
├── team-a (team, Ready)
└── team-b (team, Initializing)
`,
			wantListed: []string{"root:acme", "root:acme:team-a", "root:acme:team-b"},
		},
		{
			name: "an error below the start is shown on its node", start: "root",
			errs: map[string]error{"root:other": forbidden},
			want: `root
├── acme (org, Ready)
│   ├── team-a (team, Ready)
│   │   └── dev (Ready)
│   └── team-b (team, Initializing)
└── other (org, Ready) [cannot list child accounts: accounts is forbidden: no]
`,
			wantListed: []string{"root", "root:acme", "root:acme:team-a", "root:acme:team-a:dev", "root:acme:team-b", "root:other"},
		},
		{
			name: "an error at the start fails", start: "root",
			errs:    map[string]error{"root": forbidden},
			wantErr: "forbidden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeAccounts{children: tree, errs: tt.errs}
			root, err := buildTree(t.Context(), f.list, tt.start, tt.depth)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var b strings.Builder
			require.NoError(t, RenderTree(&b, root))
			require.Equal(t, tt.want, b.String())
			require.ElementsMatch(t, tt.wantListed, f.listed)
		})
	}
}

// TestBuildTreeBoundsConcurrency lists a wide, deep tree and checks that every account is
// listed once and never more than treeConcurrency at a time.
func TestBuildTreeBoundsConcurrency(t *testing.T) {
	t.Parallel()
	children := map[string][]child{}
	var add func(path string, level int)
	add = func(path string, level int) {
		if level == 3 {
			return
		}
		for i := range 10 {
			c := ch(path, fmt.Sprintf("a%d", i), "team", "Ready")
			children[path] = append(children[path], c)
			add(c.path, level+1)
		}
	}
	add("root", 0)
	f := &fakeAccounts{children: children}
	root, err := buildTree(t.Context(), f.list, "root", 0)
	require.NoError(t, err)
	require.Len(t, f.listed, 1+10+100+1000)
	require.LessOrEqual(t, f.maxFlight, treeConcurrency)

	var count func(n *Node) int
	count = func(n *Node) int {
		total := 1
		for _, c := range n.Children {
			total += count(c)
		}
		return total
	}
	require.Equal(t, 1+10+100+1000, count(root))
}

func TestAccessibleTree(t *testing.T) {
	t.Parallel()
	accounts := []child{
		{path: "root:a-x", typ: "org"},
		{path: "root:a:b:c", typ: "account"},
		{path: "root:a", typ: "org"},
		{path: "root:z:y", typ: "account"},
		{path: "root:a:b:c:d", typ: "account"},
	}
	for _, tc := range []struct {
		start string
		depth int
		want  string
	}{
		{"root", 0, "root\n├── a (org)\n│   └── b:c (account)\n│       └── d (account)\n├── a-x (org)\n└── z:y (account)\n"},
		{"root", 1, "root\n├── a (org)\n├── a-x (org)\n└── z:y (account)\n"},
		{"root:a", 0, "root:a (org)\n└── b:c (account)\n    └── d (account)\n"},
	} {
		var b strings.Builder
		var in []child
		for _, a := range accounts {
			if a.path == tc.start || strings.HasPrefix(a.path, tc.start+":") {
				in = append(in, a)
			}
		}
		require.NoError(t, RenderTree(&b, accessibleTree(tc.start, in, tc.depth)))
		require.Equal(t, tc.want, b.String(), "%s depth %d", tc.start, tc.depth)
	}
}
