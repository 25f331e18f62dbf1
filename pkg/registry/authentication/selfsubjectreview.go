// Package authentication serves the authentication.k8s.io/v1 API of every account:
// SelfSubjectReview, which tells callers who the server thinks they are (`kubectl auth whoami`),
// and TokenReview, which authenticates a token as a request to the account would be (delegated
// authentication for add-ons).
//
// It must not store anything and must not authenticate itself: reviews are answered from the
// request and the authenticator it is given.
package authentication

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// SelfSubjectReviewREST answers SelfSubjectReviews.
type SelfSubjectReviewREST struct{}

var (
	_ rest.Scoper               = &SelfSubjectReviewREST{}
	_ rest.SingularNameProvider = &SelfSubjectReviewREST{}
	_ rest.Storage              = &SelfSubjectReviewREST{}
)

// NewStorage returns the storage of the authentication.k8s.io/v1 resources; TokenReviews
// authenticate with tokens, for apiAudiences unless they ask for others.
func NewStorage(tokens authenticator.Request, apiAudiences []string) map[string]rest.Storage {
	return map[string]rest.Storage{
		"selfsubjectreviews": &SelfSubjectReviewREST{},
		"tokenreviews":       &TokenReviewREST{Authenticator: tokens, APIAudiences: apiAudiences},
	}
}

// New implements rest.Storage.
func (r *SelfSubjectReviewREST) New() runtime.Object { return &authenticationv1.SelfSubjectReview{} }

// Destroy implements rest.Storage.
func (r *SelfSubjectReviewREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *SelfSubjectReviewREST) NamespaceScoped() bool { return false }

// GetSingularName implements rest.SingularNameProvider.
func (r *SelfSubjectReviewREST) GetSingularName() string { return "selfsubjectreview" }

// Create returns the caller's user information.
func (r *SelfSubjectReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	if _, ok := obj.(*authenticationv1.SelfSubjectReview); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectReview: %T", obj))
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user in the request")
	}
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		info.Extra = make(map[string]authenticationv1.ExtraValue, len(extra))
		for k, v := range extra {
			info.Extra[k] = v
		}
	}
	return &authenticationv1.SelfSubjectReview{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Now()},
		Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: info},
	}, nil
}
