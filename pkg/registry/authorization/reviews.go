package authorization

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Rules lists the rules a user holds; see authorization.Policy.RulesFor.
type Rules interface {
	RulesFor(u user.Info, id cluster.ID, namespace string, inheritedOnly bool) []rbacv1.PolicyRule
}

// requester returns the user and account of a request.
func requester(ctx context.Context, resource string) (user.Info, cluster.ID, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, "", apierrors.NewBadRequest("no user in the request")
	}
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil, "", apierrors.NewMethodNotSupported(authorizationv1.Resource(resource), "create across all accounts (/clusters/*)")
	}
	return u, id, nil
}

// AccessReviewREST answers SelfSubjectAccessReviews with the server's authorizer.
type AccessReviewREST struct {
	virtual
	Authorizer authorizer.Authorizer
}

// creator is upstream's create interface.
type creator = rest.Creater //nolint:misspell // upstream's spelling

var (
	_ creator                   = &AccessReviewREST{}
	_ rest.Scoper               = &AccessReviewREST{}
	_ rest.SingularNameProvider = &AccessReviewREST{}
)

// New implements rest.Storage.
func (r *AccessReviewREST) New() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }

// GetSingularName implements rest.SingularNameProvider.
func (r *AccessReviewREST) GetSingularName() string { return "selfsubjectaccessreview" }

// Create implements the create interface of rest.
func (r *AccessReviewREST) Create(ctx context.Context, obj runtime.Object, _ rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectAccessReview: %T", obj))
	}
	u, _, err := requester(ctx, "selfsubjectaccessreviews")
	if err != nil {
		return nil, err
	}
	spec := review.Spec
	if (spec.ResourceAttributes == nil) == (spec.NonResourceAttributes == nil) {
		return nil, apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview").GroupKind(), "",
			field.ErrorList{field.Invalid(field.NewPath("spec"), "", "exactly one of resourceAttributes and nonResourceAttributes must be set")})
	}
	attrs := authorizer.AttributesRecord{User: u}
	if ra := spec.ResourceAttributes; ra != nil {
		attrs.ResourceRequest = true
		attrs.Verb, attrs.Namespace, attrs.APIGroup, attrs.APIVersion = ra.Verb, ra.Namespace, ra.Group, ra.Version
		attrs.Resource, attrs.Subresource, attrs.Name = ra.Resource, ra.Subresource, ra.Name
	} else {
		attrs.Verb, attrs.Path = spec.NonResourceAttributes.Verb, spec.NonResourceAttributes.Path
	}
	decision, reason, err := r.Authorizer.Authorize(ctx, attrs)
	review.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: decision == authorizer.DecisionAllow, Reason: reason}
	if err != nil {
		review.Status.EvaluationError = err.Error()
	}
	return review, nil
}

// RulesReviewREST answers SelfSubjectRulesReviews from the policy.
type RulesReviewREST struct {
	virtual
	Rules Rules
}

var (
	_ creator                   = &RulesReviewREST{}
	_ rest.Scoper               = &RulesReviewREST{}
	_ rest.SingularNameProvider = &RulesReviewREST{}
)

// New implements rest.Storage.
func (r *RulesReviewREST) New() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }

// GetSingularName implements rest.SingularNameProvider.
func (r *RulesReviewREST) GetSingularName() string { return "selfsubjectrulesreview" }

// Create implements the create interface of rest.
func (r *RulesReviewREST) Create(ctx context.Context, obj runtime.Object, _ rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectRulesReview: %T", obj))
	}
	u, id, err := requester(ctx, "selfsubjectrulesreviews")
	if err != nil {
		return nil, err
	}
	status := authorizationv1.SubjectRulesReviewStatus{ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{}}
	for _, rule := range r.Rules.RulesFor(u, id, review.Spec.Namespace, false) {
		if len(rule.NonResourceURLs) > 0 {
			status.NonResourceRules = append(status.NonResourceRules, authorizationv1.NonResourceRule{Verbs: rule.Verbs, NonResourceURLs: rule.NonResourceURLs})
			continue
		}
		status.ResourceRules = append(status.ResourceRules, authorizationv1.ResourceRule{
			Verbs: rule.Verbs, APIGroups: rule.APIGroups, Resources: rule.Resources, ResourceNames: rule.ResourceNames,
		})
	}
	review.Status = status
	return review, nil
}
