package core

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// fakeServiceAccounts serves one ServiceAccount named bot.
type fakeServiceAccounts struct{}

func (fakeServiceAccounts) New() runtime.Object { return &corev1.ServiceAccount{} }
func (fakeServiceAccounts) Destroy()            {}
func (fakeServiceAccounts) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if name != "bot" {
		return nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name)
	}
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bot", UID: "u1"}}, nil
}

// fakeIssuer records what it was asked to sign.
type fakeIssuer struct {
	id        cluster.ID
	audiences []string
	lifetime  time.Duration
}

func (f *fakeIssuer) Issue(id cluster.ID, _ *corev1.ServiceAccount, audiences []string, lifetime time.Duration) (string, time.Time, error) {
	f.id, f.audiences, f.lifetime = id, audiences, lifetime
	return "signed", time.Unix(0, 0).Add(lifetime), nil
}

func (f *fakeIssuer) APIAudiences() []string { return []string{"api"} }

func TestTokenREST(t *testing.T) {
	t.Parallel()
	const id cluster.ID = "aaaaaaaaaaaaaaaa"
	for _, tc := range []struct {
		name          string
		sa            string
		spec          authenticationv1.TokenRequestSpec
		wantAudiences []string
		wantLifetime  time.Duration
		wantFields    []string
		wantNotFound  bool
	}{
		{name: "defaults", sa: "bot", wantAudiences: []string{"api"}, wantLifetime: time.Hour},
		{name: "audience and expiry", sa: "bot", spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}, ExpirationSeconds: ptr.To[int64](600)},
			wantAudiences: []string{"vault"}, wantLifetime: 10 * time.Minute},
		{name: "too short", sa: "bot", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](60)}, wantFields: []string{"spec.expirationSeconds"}},
		{name: "too long", sa: "bot", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(MaxTokenExpiration/time.Second) + 1)}, wantFields: []string{"spec.expirationSeconds"}},
		{name: "empty audience", sa: "bot", spec: authenticationv1.TokenRequestSpec{Audiences: []string{""}}, wantFields: []string{"spec.audiences[0]"}},
		{name: "bound object", sa: "bot", spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", Name: "p"}}, wantFields: []string{"spec.boundObjectRef"}},
		{name: "no such service account", sa: "nobody", wantNotFound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			issuer := &fakeIssuer{}
			r, err := NewTokenREST(fakeServiceAccounts{}, issuer)
			require.NoError(t, err)
			ctx := cluster.WithCluster(t.Context(), id)
			out, err := r.Create(ctx, tc.sa, &authenticationv1.TokenRequest{Spec: tc.spec}, nil, &metav1.CreateOptions{})
			switch {
			case tc.wantNotFound:
				require.True(t, apierrors.IsNotFound(err), "%v", err)
				return
			case len(tc.wantFields) > 0:
				require.True(t, apierrors.IsInvalid(err), "%v", err)
				var status apierrors.APIStatus
				require.ErrorAs(t, err, &status)
				var fields []string
				for _, c := range status.Status().Details.Causes {
					fields = append(fields, c.Field)
				}
				require.ElementsMatch(t, tc.wantFields, fields)
				require.Empty(t, issuer.id, "nothing is signed for a bad request")
				return
			}
			require.NoError(t, err)
			got := out.(*authenticationv1.TokenRequest)
			require.Equal(t, "signed", got.Status.Token)
			require.Equal(t, id, issuer.id)
			require.Equal(t, tc.wantAudiences, got.Spec.Audiences)
			require.Equal(t, tc.wantLifetime, issuer.lifetime)
			require.Equal(t, int64(tc.wantLifetime/time.Second), *got.Spec.ExpirationSeconds)
		})
	}
}
