package core

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Token lifetimes of the TokenRequest API, as upstream: one hour by default, at least ten
// minutes, and at most the server's maximum.
const (
	defaultTokenExpiration = time.Hour
	minTokenExpiration     = 10 * time.Minute
	// MaxTokenExpiration is the longest lifetime a requested token may have.
	MaxTokenExpiration = 48 * time.Hour
)

// TokenIssuer signs ServiceAccount tokens.
type TokenIssuer interface {
	// Issue signs a token for sa in account id for audiences (the API's when empty).
	Issue(id cluster.ID, sa *corev1.ServiceAccount, audiences []string, lifetime time.Duration) (string, time.Time, error)
	// APIAudiences are the audiences the API accepts.
	APIAudiences() []string
}

// TokenREST serves the serviceaccounts/token subresource: the TokenRequest API.
type TokenREST struct {
	serviceAccounts rest.Getter
	issuer          TokenIssuer
}

var (
	_ rest.NamedCreater             = &TokenREST{}
	_ rest.GroupVersionKindProvider = &TokenREST{}
)

// NewTokenREST returns the TokenRequest storage over the serviceaccounts storage.
func NewTokenREST(serviceAccounts rest.Storage, issuer TokenIssuer) (*TokenREST, error) {
	getter, ok := serviceAccounts.(rest.Getter)
	if !ok {
		return nil, fmt.Errorf("serviceaccounts storage %T cannot get objects", serviceAccounts)
	}
	return &TokenREST{serviceAccounts: getter, issuer: issuer}, nil
}

// New implements rest.Storage.
func (r *TokenREST) New() runtime.Object { return &authenticationv1.TokenRequest{} }

// Destroy implements rest.Storage.
func (r *TokenREST) Destroy() {}

// GroupVersionKind implements rest.GroupVersionKindProvider.
func (r *TokenREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
}

// Create issues a token for the ServiceAccount name in the request's account and namespace.
func (r *TokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req, ok := obj.(*authenticationv1.TokenRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenRequest: %T", obj))
	}
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil, apierrors.NewBadRequest("token requests must address one account")
	}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(authenticationv1.SchemeGroupVersion.WithKind("TokenRequest").GroupKind(), name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	got, err := r.serviceAccounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sa := got.(*corev1.ServiceAccount)
	if sa.DeletionTimestamp != nil {
		return nil, apierrors.NewConflict(corev1.Resource("serviceaccounts"), name, fmt.Errorf("the service account is being deleted"))
	}
	if options != nil && len(options.DryRun) > 0 {
		return req, nil
	}
	lifetime := defaultTokenExpiration
	if req.Spec.ExpirationSeconds != nil {
		lifetime = time.Duration(*req.Spec.ExpirationSeconds) * time.Second
	}
	audiences := req.Spec.Audiences
	if len(audiences) == 0 {
		audiences = r.issuer.APIAudiences()
	}
	token, exp, err := r.issuer.Issue(id, sa, audiences, lifetime)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out := req.DeepCopy()
	out.Name, out.Namespace = sa.Name, sa.Namespace
	out.Spec.Audiences = audiences
	seconds := int64(lifetime / time.Second)
	out.Spec.ExpirationSeconds = &seconds
	out.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp)}
	return out, nil
}

func validateTokenRequest(req *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if s := req.Spec.ExpirationSeconds; s != nil {
		d := time.Duration(*s) * time.Second
		if d < minTokenExpiration {
			errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *s, fmt.Sprintf("may not specify a duration less than %s", minTokenExpiration)))
		}
		if d > MaxTokenExpiration {
			errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *s, fmt.Sprintf("may not specify a duration longer than %s", MaxTokenExpiration)))
		}
	}
	for i, a := range req.Spec.Audiences {
		if a == "" {
			errs = append(errs, field.Invalid(spec.Child("audiences").Index(i), a, "may not be empty"))
		}
	}
	if req.Spec.BoundObjectRef != nil {
		errs = append(errs, field.Forbidden(spec.Child("boundObjectRef"), "bound object references are not supported: there are no pods, secrets or nodes to bind tokens to"))
	}
	return errs
}
