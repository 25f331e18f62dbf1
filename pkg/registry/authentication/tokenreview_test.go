package authentication

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// TestTokenReview runs reviews against a stand-in authenticator that knows one token per
// account and audience, as the server's chain answers.
func TestTokenReview(t *testing.T) {
	t.Parallel()
	invalid := errors.New("invalid bearer token")
	var seen struct {
		id        cluster.ID
		audiences authenticator.Audiences
	}
	stub := authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		seen.id, _ = cluster.FromContext(req.Context())
		seen.audiences, _ = authenticator.AudiencesFrom(req.Context())
		switch req.Header.Get("Authorization") {
		case "Bearer of-a":
			if seen.id != "a" {
				return nil, false, utilerrors.NewAggregate([]error{&authentication.OutsideAccountError{Reason: "elsewhere"}, invalid})
			}
			return &authenticator.Response{Audiences: seen.audiences[:1], User: &user.DefaultInfo{Name: "bot", UID: "1", Groups: []string{"g"}, Extra: map[string][]string{"k": {"v"}}}}, true, nil
		case "Bearer other-audience":
			return &authenticator.Response{Audiences: authenticator.Audiences{"elsewhere"}, User: &user.DefaultInfo{Name: "x"}}, true, nil
		}
		return nil, false, utilerrors.NewAggregate([]error{invalid, invalid})
	})
	r := &TokenReviewREST{Authenticator: stub, APIAudiences: authenticator.Audiences{"api"}}
	review := func(ctx context.Context, spec authenticationv1.TokenReviewSpec) (*authenticationv1.TokenReviewStatus, error) {
		out, err := r.Create(ctx, &authenticationv1.TokenReview{Spec: spec}, nil, nil)
		if err != nil {
			return nil, err
		}
		return &out.(*authenticationv1.TokenReview).Status, nil
	}
	inA := cluster.WithCluster(t.Context(), "a")

	status, err := review(inA, authenticationv1.TokenReviewSpec{Token: "of-a"})
	require.NoError(t, err)
	require.Equal(t, &authenticationv1.TokenReviewStatus{
		Authenticated: true,
		User:          authenticationv1.UserInfo{Username: "bot", UID: "1", Groups: []string{"g"}, Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}},
		Audiences:     []string{"api"},
	}, status)
	require.Equal(t, cluster.ID("a"), seen.id)
	require.Equal(t, authenticator.Audiences{"api"}, seen.audiences, "the API audiences by default")

	status, err = review(inA, authenticationv1.TokenReviewSpec{Token: "of-a", Audiences: []string{"vault", "db"}})
	require.NoError(t, err)
	require.True(t, status.Authenticated)
	require.Equal(t, []string{"vault"}, status.Audiences)
	require.Equal(t, authenticator.Audiences{"vault", "db"}, seen.audiences, "the audiences asked for")

	// A token of another account reads exactly like an unknown token.
	elsewhere, err := review(cluster.WithCluster(t.Context(), "b"), authenticationv1.TokenReviewSpec{Token: "of-a"})
	require.NoError(t, err)
	unknown, err := review(cluster.WithCluster(t.Context(), "b"), authenticationv1.TokenReviewSpec{Token: "garbage"})
	require.NoError(t, err)
	require.Equal(t, &authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}, unknown)
	require.Equal(t, unknown, elsewhere)

	_, err = review(inA, authenticationv1.TokenReviewSpec{Token: "other-audience"})
	require.True(t, apierrors.IsInternalError(err), "an authenticator answering for other audiences: %v", err)
	_, err = review(inA, authenticationv1.TokenReviewSpec{})
	require.True(t, apierrors.IsBadRequest(err), "no token: %v", err)
	_, err = review(request.WithNamespace(inA, "default"), authenticationv1.TokenReviewSpec{Token: "of-a"})
	require.True(t, apierrors.IsBadRequest(err), "a namespace: %v", err)
	_, err = review(cluster.WithCluster(t.Context(), cluster.Wildcard), authenticationv1.TokenReviewSpec{Token: "of-a"})
	require.True(t, apierrors.IsMethodNotSupported(err), "the wildcard: %v", err)
	_, err = review(t.Context(), authenticationv1.TokenReviewSpec{Token: "of-a"})
	require.True(t, apierrors.IsMethodNotSupported(err), "no account: %v", err)
}
