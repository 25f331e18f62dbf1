package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolvePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		current  string
		previous string
		arg      string
		want     string
		wantErr  string
	}{
		{name: "absolute", current: "root:acme", arg: "root:other:team-a", want: "root:other:team-a"},
		{name: "absolute root", current: "root:acme", arg: "root", want: "root"},
		{name: "absolute with leading colon", current: "root:acme", arg: ":root:other", want: "root:other"},
		{name: "root shorthand", current: "root:acme:team-a", arg: ":", want: "root"},
		{name: "child", current: "root:acme", arg: "team-a", want: "root:acme:team-a"},
		{name: "grandchild", current: "root:acme", arg: "team-a:dev", want: "root:acme:team-a:dev"},
		{name: "dot child", current: "root:acme", arg: "./team-a", want: "root:acme:team-a"},
		{name: "child of root", current: "root", arg: "acme", want: "root:acme"},
		{name: "name starting with root", current: "root:acme", arg: "rooted", want: "root:acme:rooted"},
		{name: "parent", current: "root:acme:team-a", arg: "..", want: "root:acme"},
		{name: "parent with slash", current: "root:acme:team-a", arg: "../", want: "root:acme"},
		{name: "grandparent", current: "root:acme:team-a", arg: "../..", want: "root"},
		{name: "sibling", current: "root:acme:team-a", arg: "../team-b", want: "root:acme:team-b"},
		{name: "cousin", current: "root:acme:team-a", arg: "../../other:team-c", want: "root:other:team-c"},
		{name: "previous", current: "root:acme", previous: "root:other", arg: "-", want: "root:other"},
		{name: "previous cluster ID", current: "root:acme", previous: "2x7hq0vkl5", arg: "-", want: "2x7hq0vkl5"},

		{name: "no previous", current: "root:acme", arg: "-", wantErr: "no previous account"},
		{name: "parent of root", current: "root", arg: "..", wantErr: "the root account has no parent"},
		{name: "above root", current: "root:acme", arg: "../..", wantErr: "the root account has no parent"},
		{name: "empty", current: "root", arg: "", wantErr: "an account path is required"},
		{name: "invalid child", current: "root", arg: "Team_A", wantErr: `invalid account path "Team_A"`},
		{name: "empty segment", current: "root", arg: "a::b", wantErr: "empty account name"},
		{name: "absolute not at root", current: "root", arg: ":acme", wantErr: `an absolute path starts with "root"`},
		{name: "invalid absolute", current: "root", arg: "root:Acme", wantErr: `invalid account path "root:Acme"`},
		{name: "trailing colon", current: "root", arg: "root:", wantErr: "empty account name"},
		{name: "relative without current", arg: "team-a", wantErr: "without a current account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ResolvePath(tt.current, tt.previous, tt.arg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestIsRelative(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg  string
		want bool
	}{
		{arg: "team-a", want: true},
		{arg: "..", want: true},
		{arg: "../team-b", want: true},
		{arg: "rooted", want: true},
		{arg: "root", want: false},
		{arg: "root:acme", want: false},
		{arg: ":", want: false},
		{arg: ":root:acme", want: false},
		{arg: "-", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, IsRelative(tt.arg))
		})
	}
}

func TestParentPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path   string
		want   string
		wantOK bool
	}{
		{path: "root", wantOK: false},
		{path: "root:acme", want: "root", wantOK: true},
		{path: "root:acme:team-a", want: "root:acme", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, ok := ParentPath(tt.path)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
