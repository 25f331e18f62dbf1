package serviceaccount

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const (
	testIssuer  = "https://accountmesh.test"
	testCluster = cluster.ID("aaaaaaaaaaaaaaaa")
)

var testSA = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bot", UID: "uid-1"}}

func newTestTokens(t *testing.T, now time.Time) *Tokens {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tokens, err := NewTokens(key, testIssuer, []string{testIssuer, "second"})
	require.NoError(t, err)
	tokens.now = func() time.Time { return now }
	return tokens
}

// getter returns sa for the test account and NotFound otherwise.
func getter(sa *corev1.ServiceAccount) Getter {
	return func(_ context.Context, id cluster.ID, namespace, name string) (*corev1.ServiceAccount, error) {
		if sa == nil || id != testCluster || namespace != sa.Namespace || name != sa.Name {
			return nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name)
		}
		return sa, nil
	}
}

// testAccounts is root → the test account → a shadow account (with an account below it) and
// another child; root → another account → its shadow account.
func testAccounts() *cluster.Index {
	idx := cluster.NewIndex("rootrootrootroot")
	shadow := cluster.Attributes{Type: "shadow", Shadow: &cluster.Shadow{ConsumerOrg: "orgorgorgorgorgo", Exports: []string{"db"}}}
	idx.Set("rootrootrootroot", "prov", testCluster, cluster.Attributes{Type: "provider"})
	idx.Set(testCluster, "consumer-a", "shadowshadowshad", shadow)
	idx.Set("shadowshadowshad", "below", "belowshadowbelow", cluster.Attributes{Type: "account"})
	idx.Set(testCluster, "child", "childchildchildc", cluster.Attributes{Type: "account"})
	idx.Set("rootrootrootroot", "other", "otherotherother0", cluster.Attributes{Type: "provider"})
	idx.Set("otherotherother0", "consumer-a", "othershadowothe", shadow)
	return idx
}

// tamper replaces the payload of a JWT with edit(payload), keeping the signature.
func tamper(t *testing.T, token string, edit func(string) string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(edit(string(payload))))
	return strings.Join(parts, ".")
}

func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tokens := newTestTokens(t, now)
	issue := func(audiences []string, lifetime time.Duration) string {
		tok, _, err := tokens.Issue(testCluster, testSA, audiences, lifetime)
		require.NoError(t, err)
		return tok
	}
	valid := issue(nil, time.Hour)
	otherKey := newTestTokens(t, now)
	foreign, _, err := otherKey.Issue(testCluster, testSA, nil, time.Hour)
	require.NoError(t, err)
	otherIssuer := newTestTokens(t, now)
	otherIssuer.issuer = "https://elsewhere.test"
	otherIssued, _, err := otherIssuer.Issue(testCluster, testSA, nil, time.Hour)
	require.NoError(t, err)
	recreated := testSA.DeepCopy()
	recreated.UID = "uid-2"
	deleting := testSA.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: now}

	for _, tc := range []struct {
		name    string
		token   string
		cluster cluster.ID
		sa      *corev1.ServiceAccount
		now     time.Time
		// audiences are the ones the request asks for (a TokenReview's spec.audiences).
		audiences     []string
		wantOK        bool
		wantErr       string
		wantAudiences []string
	}{
		{name: "valid", token: valid, cluster: testCluster, sa: testSA, wantOK: true, wantAudiences: []string{testIssuer, "second"}},
		{name: "valid within leeway after expiry", token: valid, cluster: testCluster, sa: testSA, now: now.Add(time.Hour + 30*time.Second), wantOK: true, wantAudiences: []string{testIssuer, "second"}},
		{name: "expired", token: valid, cluster: testCluster, sa: testSA, now: now.Add(2 * time.Hour), wantErr: "expired"},
		{name: "not yet valid", token: valid, cluster: testCluster, sa: testSA, now: now.Add(-time.Hour), wantErr: "not valid yet"},
		{name: "second API audience", token: issue([]string{"second"}, time.Hour), cluster: testCluster, sa: testSA, wantOK: true, wantAudiences: []string{"second"}},
		{name: "wrong audience", token: issue([]string{"vault"}, time.Hour), cluster: testCluster, sa: testSA, wantErr: "audience"},
		{name: "audience asked for", token: issue([]string{"vault", "db"}, time.Hour), cluster: testCluster, sa: testSA, audiences: []string{"db", "other"}, wantOK: true, wantAudiences: []string{"db"}},
		{name: "API audience not asked for", token: valid, cluster: testCluster, sa: testSA, audiences: []string{"vault"}, wantErr: "audience"},
		{name: "wrong account", token: valid, cluster: "bbbbbbbbbbbbbbbb", sa: testSA, wantErr: ErrWrongAccount.Error()},
		{name: "wildcard", token: valid, cluster: cluster.Wildcard, sa: testSA, wantErr: ErrWrongAccount.Error()},
		{name: "no account", token: valid, sa: testSA, wantErr: ErrWrongAccount.Error()},
		{name: "claimed account tampered", token: tamper(t, valid, func(p string) string {
			return strings.Replace(p, string(testCluster), "bbbbbbbbbbbbbbbb", 1)
		}), cluster: "bbbbbbbbbbbbbbbb", sa: testSA, wantErr: "signature"},
		{name: "expiry tampered", token: tamper(t, valid, func(p string) string {
			return strings.Replace(p, `"exp":`, `"exp":9`, 1)
		}), cluster: testCluster, sa: testSA, wantErr: "signature"},
		{name: "signed with another key", token: foreign, cluster: testCluster, sa: testSA, wantErr: "signature"},
		{name: "other issuer is passed over", token: otherIssued, cluster: testCluster, sa: testSA},
		{name: "not a JWT is passed over", token: "static-token", cluster: testCluster, sa: testSA},
		{name: "service account deleted", token: valid, cluster: testCluster, wantErr: "deleted"},
		{name: "service account recreated", token: valid, cluster: testCluster, sa: recreated, wantErr: "recreated"},
		{name: "service account being deleted", token: valid, cluster: testCluster, sa: deleting, wantErr: "being deleted"},
		// A shadow account of the token's account accepts it, confined to the token's account.
		{name: "shadow account below", token: valid, cluster: "shadowshadowshad", sa: testSA, wantOK: true, wantAudiences: []string{testIssuer, "second"}},
		{name: "other child below", token: valid, cluster: "childchildchildc", sa: testSA, wantErr: ErrWrongAccount.Error()},
		{name: "shadow account of another account", token: valid, cluster: "othershadowothe", sa: testSA, wantErr: ErrWrongAccount.Error()},
		{name: "below the shadow account", token: valid, cluster: "belowshadowbelow", sa: testSA, wantErr: ErrWrongAccount.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			verifier := *tokens
			if !tc.now.IsZero() {
				verifier.now = func() time.Time { return tc.now }
			}
			a := NewAuthenticator(&verifier, getter(tc.sa), testAccounts())
			ctx := t.Context()
			if tc.cluster != "" {
				ctx = cluster.WithCluster(ctx, tc.cluster)
			}
			if tc.audiences != nil {
				ctx = authenticator.WithAudiences(ctx, tc.audiences)
			}
			resp, ok, err := a.AuthenticateToken(ctx, tc.token)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.False(t, ok)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantOK, ok)
			if !ok {
				return
			}
			require.Equal(t, "system:serviceaccount:default:bot", resp.User.GetName())
			require.Equal(t, "uid-1", resp.User.GetUID())
			require.Equal(t, []string{"system:serviceaccounts", "system:serviceaccounts:default"}, resp.User.GetGroups())
			require.Len(t, resp.User.GetExtra()["authentication.kubernetes.io/credential-id"], 1)
			require.Equal(t, []string{string(testCluster)}, resp.User.GetExtra()["accountmesh.io/account"])
			require.Equal(t, authenticator.Audiences(tc.wantAudiences), resp.Audiences)
		})
	}
}

func TestIssueClaims(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tokens := newTestTokens(t, now)
	tok, exp, err := tokens.Issue(testCluster, testSA, nil, 10*time.Minute)
	require.NoError(t, err)
	require.Equal(t, now.Add(10*time.Minute), exp)
	c, err := tokens.Verify(tok, nil)
	require.NoError(t, err)
	require.Equal(t, testIssuer, c.Issuer)
	require.Equal(t, "system:serviceaccount:default:bot", c.Subject)
	require.Equal(t, []string{testIssuer, "second"}, []string(c.Audience), "the API audiences by default")
	require.Equal(t, now, c.IssuedAt.Time().UTC())
	require.Equal(t, now, c.NotBefore.Time().UTC())
	require.Equal(t, KubernetesClaim{Namespace: "default", ServiceAccount: Ref{Name: "bot", UID: "uid-1"}}, c.Kubernetes)
	require.Equal(t, string(testCluster), c.Cluster)
	require.NotEmpty(t, c.ID)
}

func TestLoadOrCreateKeyKeepsTheKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pki", "sa.key")
	first, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	second, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	require.True(t, first.Equal(second), "the key must survive a restart")
}

// BenchmarkAuthenticateToken measures the cost a ServiceAccount token adds to every request:
// signature check, claims, account check and the ServiceAccount lookup (stubbed here).
func BenchmarkAuthenticateToken(b *testing.B) {
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(b, err)
	tokens, err := NewTokens(key, testIssuer, []string{testIssuer})
	require.NoError(b, err)
	tokens.now = func() time.Time { return now }
	token, _, err := tokens.Issue(testCluster, testSA, nil, time.Hour)
	require.NoError(b, err)
	a := NewAuthenticator(tokens, getter(testSA), nil)
	ctx := cluster.WithCluster(b.Context(), testCluster)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := a.AuthenticateToken(ctx, token); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func TestLoadOrCreateKeyAtomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "pki", "service-account.key")
	first, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	again, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	require.True(t, first.Equal(again), "the key survives restarts")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	_, err = LoadOrCreateKey(path)
	require.ErrorContains(t, err, path, "a corrupt key is refused, naming the file")
}
