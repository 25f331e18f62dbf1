package authentication

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// TokenReviewREST answers TokenReviews: it authenticates a bearer token exactly as a request
// with that token to the review's account would be. A token that is valid only elsewhere (a
// ServiceAccount token of another account, an organisation's token outside the organisation)
// reads like an unknown one: the answer names no other account and no error tells it apart.
type TokenReviewREST struct {
	// Authenticator authenticates requests that carry nothing but a bearer token.
	Authenticator authenticator.Request
	// APIAudiences are the audiences of reviews that ask for none.
	APIAudiences authenticator.Audiences
}

var (
	_ rest.Scoper               = &TokenReviewREST{}
	_ rest.SingularNameProvider = &TokenReviewREST{}
	_ rest.Storage              = &TokenReviewREST{}
	_ rest.Creater              = &TokenReviewREST{} //nolint:misspell // upstream's spelling
)

// New implements rest.Storage.
func (r *TokenReviewREST) New() runtime.Object { return &authenticationv1.TokenReview{} }

// Destroy implements rest.Storage.
func (r *TokenReviewREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *TokenReviewREST) NamespaceScoped() bool { return false }

// GetSingularName implements rest.SingularNameProvider.
func (r *TokenReviewREST) GetSingularName() string { return "tokenreview" }

// errAudiences is upstream's answer when an authenticator accepted a token for audiences the
// review did not ask for.
var errAudiences = errors.New("error validating audiences")

// Create authenticates the review's token in the request's account.
func (r *TokenReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authenticationv1.TokenReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenReview: %T", obj))
	}
	if ns := request.NamespaceValue(ctx); ns != "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace is not allowed on this type: %v", ns))
	}
	id, ok := cluster.FromContext(ctx)
	if _, isView := view.FromContext(ctx); !ok || id == cluster.Wildcard || isView {
		return nil, apierrors.NewMethodNotSupported(authenticationv1.Resource("tokenreviews"), "create outside an account")
	}
	if review.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	audiences := authenticator.Audiences(review.Spec.Audiences)
	if len(audiences) == 0 {
		audiences = r.APIAudiences
	}
	// The authenticators read the account and the audiences from the context; the request's
	// own carries nothing else they read (views were refused above).
	req, err := http.NewRequestWithContext(authenticator.WithAudiences(ctx, audiences), http.MethodPost, "/", nil)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to build the request to authenticate: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+review.Spec.Token)
	resp, authenticated, err := r.Authenticator.AuthenticateRequest(req)
	review.Status = authenticationv1.TokenReviewStatus{Authenticated: authenticated}
	if err := utilerrors.FilterOut(err, authentication.IsOutsideAccount); err != nil {
		review.Status.Error = err.Error()
	}
	if !authenticated || resp == nil || resp.User == nil {
		return review, nil
	}
	if len(audiences) > 0 && len(audiences.Intersect(resp.Audiences)) == 0 {
		return nil, apierrors.NewInternalError(errAudiences)
	}
	u := resp.User
	review.Status.User = authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		review.Status.User.Extra = make(map[string]authenticationv1.ExtraValue, len(extra))
		for k, v := range extra {
			review.Status.User.Extra[k] = v
		}
	}
	review.Status.Audiences = resp.Audiences
	return review, nil
}
