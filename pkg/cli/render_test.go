package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderTree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		root *Node
		want string
	}{
		{
			name: "no children",
			root: &Node{Name: "root:acme"},
			want: "root:acme\n",
		},
		{
			name: "nested",
			root: &Node{Name: "root", Children: []*Node{
				{Name: "acme", Type: "org", Phase: "Ready", Children: []*Node{
					{Name: "team-a", Type: "team", Phase: "Ready"},
					{Name: "team-b", Type: "team", Phase: "Initializing"},
				}},
				{Name: "other", Type: "org", Phase: "Ready", Children: []*Node{
					{Name: "consumer-x", Type: "shadow", Phase: "Ready", ConsumerOrg: "x"},
				}},
			}},
			want: `root
├── acme (org, Ready)
│   ├── team-a (team, Ready)
│   └── team-b (team, Initializing)
└── other (org, Ready)
    └── consumer-x (shadow, Ready) [shadow account of organisation x]
`,
		},
		{
			name: "last branch indents with spaces",
			root: &Node{Name: "root", Children: []*Node{
				{Name: "a", Phase: "Ready"},
				{Name: "b", Phase: "Ready", Children: []*Node{
					{Name: "c", Phase: "Ready", Children: []*Node{{Name: "d", Phase: "Terminating"}}},
				}},
			}},
			want: `root
├── a (Ready)
└── b (Ready)
    └── c (Ready)
        └── d (Terminating)
`,
		},
		{
			name: "no type or phase yet, and a listing error",
			root: &Node{Name: "root", Children: []*Node{
				{Name: "new"},
				{Name: "locked", Type: "org", Phase: "Ready", Err: errors.New("forbidden")},
			}},
			want: `root
├── new
└── locked (org, Ready) [cannot list child accounts: forbidden]
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			require.NoError(t, RenderTree(&b, tt.root))
			require.Equal(t, tt.want, b.String())
		})
	}
}
