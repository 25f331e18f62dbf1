package authentication

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
)

func TestWithoutReservedGroups(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		groups     []string
		wantGroups []string
	}{
		{name: "no groups"},
		{name: "plain groups kept", groups: []string{"dev", "root:acme:ops"}, wantGroups: []string{"dev", "root:acme:ops"}},
		{name: "reserved groups dropped", groups: []string{"accountmesh:subtree:root", "dev", "accountmesh:account:root:acme"}, wantGroups: []string{"dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := &user.DefaultInfo{Name: "u", UID: "1", Groups: tc.groups, Extra: map[string][]string{"k": {"v"}}}
			a := WithoutReservedGroups(authenticator.RequestFunc(func(*http.Request) (*authenticator.Response, bool, error) {
				return &authenticator.Response{User: in, Audiences: authenticator.Audiences{"a"}}, true, nil
			}))
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
			require.NoError(t, err)
			resp, ok, err := a.AuthenticateRequest(req)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, tc.wantGroups, resp.User.GetGroups())
			require.Equal(t, "u", resp.User.GetName())
			require.Equal(t, "1", resp.User.GetUID())
			require.Equal(t, map[string][]string{"k": {"v"}}, resp.User.GetExtra())
			require.Equal(t, authenticator.Audiences{"a"}, resp.Audiences)
			require.Equal(t, tc.groups, in.Groups, "the authenticator's user is not changed")
		})
	}
}

func TestSubtreeGroups(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"accountmesh:subtree:root"}, SubtreeGroups("root"))
	require.Equal(t, []string{"accountmesh:subtree:root", "accountmesh:subtree:root:acme", "accountmesh:subtree:root:acme:x"}, SubtreeGroups("root:acme:x"))
	require.Equal(t, "accountmesh:account:root:acme", AccountGroup("root:acme"))
}

func TestWithoutReservedGroupsDropsReservedExtras(t *testing.T) {
	t.Parallel()
	in := &user.DefaultInfo{Name: "u", Extra: map[string][]string{"k": {"v"}, "Accountmesh.io/Account": {"x"}, AccountExtraKey: {"y"}}}
	a := WithoutReservedGroups(authenticator.RequestFunc(func(*http.Request) (*authenticator.Response, bool, error) {
		return &authenticator.Response{User: in}, true, nil
	}))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	require.NoError(t, err)
	resp, ok, err := a.AuthenticateRequest(req)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, map[string][]string{"k": {"v"}}, resp.User.GetExtra())
	_, confined := ConfinedTo(resp.User)
	require.False(t, confined)
}

func TestConfine(t *testing.T) {
	t.Parallel()
	u := &user.DefaultInfo{Name: "u", UID: "1", Groups: []string{"g"}, Extra: map[string][]string{"k": {"v"}}}
	_, confined := ConfinedTo(u)
	require.False(t, confined)
	c := Confine(u, "abc")
	id, confined := ConfinedTo(c)
	require.True(t, confined)
	require.Equal(t, "abc", string(id))
	require.Equal(t, []string{"v"}, c.GetExtra()["k"])
	require.NotContains(t, u.Extra, AccountExtraKey, "the original user is not changed")
	twice := &user.DefaultInfo{Extra: map[string][]string{AccountExtraKey: {"a", "b"}}}
	id, confined = ConfinedTo(twice)
	require.True(t, confined)
	require.NotEqual(t, "a", string(id), "two accounts confine to none")
}
