package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeJWT returns an unsigned token whose payload names iss; the fake authenticators below
// accept it by its exact value.
func fakeJWT(iss string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"iss":"`+iss+`","sub":"alice"}`)) + ".sig"
}

// fakeAuthenticator accepts exactly one token as user name.
type fakeAuthenticator struct{ token, name string }

func (f fakeAuthenticator) AuthenticateToken(_ context.Context, token string) (*authenticator.Response, bool, error) {
	if token != f.token {
		return nil, false, errors.New("invalid token")
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: f.name, Extra: map[string][]string{"k": {"v"}}}}, true, nil
}

func TestOrgsConfineUsersToTheirOrganization(t *testing.T) {
	t.Parallel()
	const (
		root   cluster.ID = "rootrootrootroot"
		orgA   cluster.ID = "orgaaaaaaaaaaaaa"
		teamA  cluster.ID = "teamaaaaaaaaaaaa"
		deepA  cluster.ID = "deepaaaaaaaaaaaa"
		orgB   cluster.ID = "orgbbbbbbbbbbbbb"
		issA              = "https://a.example"
		issB              = "https://b.example"
		issNot            = "https://nobody.example"
	)
	index := cluster.NewIndex(root)
	index.Set(root, "a", orgA, cluster.Attributes{Type: corev1alpha1.TypeOrg})
	index.Set(orgA, "team", teamA, cluster.Attributes{Type: corev1alpha1.TypeAccount})
	index.Set(teamA, "deep", deepA, cluster.Attributes{Type: corev1alpha1.TypeAccount})
	index.Set(root, "b", orgB, cluster.Attributes{Type: corev1alpha1.TypeOrg})
	orgs := NewOrgs(index)
	tokenA, tokenB := fakeJWT(issA), fakeJWT(issB)
	orgs.Set(orgA, "corp", Provider{Issuer: issA, Authenticator: fakeAuthenticator{tokenA, "root:a:alice"}})
	orgs.Set(orgB, "corp", Provider{Issuer: issB, Authenticator: fakeAuthenticator{tokenB, "root:b:bob"}})

	for _, tc := range []struct {
		name     string
		token    string
		cluster  cluster.ID
		wantUser string
		wantErr  bool
	}{
		{name: "own organisation", token: tokenA, cluster: orgA, wantUser: "root:a:alice"},
		{name: "child account", token: tokenA, cluster: teamA, wantUser: "root:a:alice"},
		{name: "grandchild account", token: tokenA, cluster: deepA, wantUser: "root:a:alice"},
		{name: "other organisation", token: tokenA, cluster: orgB, wantErr: true},
		{name: "root", token: tokenA, cluster: root, wantErr: true},
		{name: "wildcard", token: tokenA, cluster: cluster.Wildcard, wantErr: true},
		{name: "unknown account", token: tokenA, cluster: "unknownunknownun", wantErr: true},
		{name: "no account", token: tokenA, wantErr: true},
		{name: "other organisation's token", token: tokenB, cluster: teamA, wantErr: true},
		{name: "unregistered issuer is passed over", token: fakeJWT(issNot), cluster: orgA},
		{name: "not a JWT is passed over", token: "static", cluster: orgA},
		{name: "bad token of the right issuer", token: fakeJWT(issA) + "x", cluster: orgA, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tc.cluster != "" {
				ctx = cluster.WithCluster(ctx, tc.cluster)
			}
			resp, ok, err := orgs.AuthenticateToken(ctx, tc.token)
			if tc.wantErr {
				require.Error(t, err)
				require.False(t, ok)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantUser != "", ok)
			if ok {
				require.Equal(t, tc.wantUser, resp.User.GetName())
				require.Equal(t, []string{string(orgA)}, resp.User.GetExtra()[OrganizationExtraKey])
				require.Equal(t, []string{"v"}, resp.User.GetExtra()["k"])
			}
		})
	}
}

func TestOrgsSetAndDelete(t *testing.T) {
	t.Parallel()
	const org cluster.ID = "orgaaaaaaaaaaaaa"
	index := cluster.NewIndex("rootrootrootroot")
	index.Set("rootrootrootroot", "a", org, cluster.Attributes{Type: corev1alpha1.TypeOrg})
	orgs := NewOrgs(index)
	cancelled := 0
	token := fakeJWT("https://a.example")
	orgs.Set(org, "corp", Provider{Issuer: "https://a.example", Authenticator: fakeAuthenticator{token, "old"}, Cancel: func() { cancelled++ }})
	orgs.Set(org, "corp", Provider{Issuer: "https://a.example", Authenticator: fakeAuthenticator{token, "new"}, Cancel: func() { cancelled++ }})
	require.Equal(t, 1, cancelled, "a replaced provider is stopped")
	resp, ok, err := orgs.AuthenticateToken(cluster.WithCluster(t.Context(), org), token)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "new", resp.User.GetName())

	orgs.Delete(org, "corp")
	require.Equal(t, 2, cancelled, "a deleted provider is stopped")
	require.False(t, orgs.Has(org, "corp"))
	_, ok, err = orgs.AuthenticateToken(cluster.WithCluster(t.Context(), org), token)
	require.NoError(t, err, "once no organisation has the issuer, its tokens are passed over")
	require.False(t, ok)
}

// BenchmarkOrgs measures what organisation providers add to bearer token requests: passing
// over a token of an issuer no organisation registered, and confining an organisation's token
// in an account ten levels below the organisation.
func BenchmarkOrgs(b *testing.B) {
	const root cluster.ID = "rootrootrootroot"
	index := cluster.NewIndex(root)
	org := cluster.ID("orgaaaaaaaaaaaaa")
	index.Set(root, "org", org, cluster.Attributes{Type: corev1alpha1.TypeOrg})
	parent := org
	for i := range 10 {
		id := cluster.ID(fmt.Sprintf("acc%013d", i))
		index.Set(parent, fmt.Sprintf("a%d", i), id, cluster.Attributes{Type: corev1alpha1.TypeAccount})
		parent = id
	}
	orgs := NewOrgs(index)
	for i := range 1000 {
		iss := fmt.Sprintf("https://%d.example", i)
		orgs.Set(cluster.ID(fmt.Sprintf("org%013d", i)), "corp", Provider{Issuer: iss, Authenticator: fakeAuthenticator{fakeJWT(iss), "u"}})
	}
	token := fakeJWT("https://a.example")
	orgs.Set(org, "corp", Provider{Issuer: "https://a.example", Authenticator: fakeAuthenticator{token, "alice"}})
	deep := cluster.WithCluster(b.Context(), parent)
	for _, bc := range []struct {
		name  string
		token string
		want  bool
	}{
		{"platform token passed over", fakeJWT("https://platform.example"), false},
		{"org token 10 levels down", token, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := orgs.AuthenticateToken(deep, bc.token); ok != bc.want || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
