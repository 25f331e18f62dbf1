package authorization

import (
	"context"
	"fmt"
	"slices"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// Rules lists the rules a user holds; see authorization.Policy.RulesFor.
type Rules interface {
	RulesFor(u user.Info, id cluster.ID, namespace string, inheritedOnly bool) []rbacv1.PolicyRule
}

// requester returns the user and account of a request, refusing the wildcard and provider
// views: reviews answer about one account.
func requester(ctx context.Context, resource string) (user.Info, cluster.ID, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, "", apierrors.NewBadRequest("no user in the request")
	}
	id, ok := cluster.FromContext(ctx)
	if _, isView := view.FromContext(ctx); !ok || id == cluster.Wildcard || isView {
		return nil, "", apierrors.NewMethodNotSupported(authorizationv1.Resource(resource), "create across all accounts (/clusters/*)")
	}
	return u, id, nil
}

// creator is upstream's create interface.
type creator = rest.Creater //nolint:misspell // upstream's spelling

// AccessReviewREST answers SelfSubjectAccessReviews with the server's authorizer.
type AccessReviewREST struct {
	virtual
	Authorizer authorizer.Authorizer
}

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
func (r *AccessReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectAccessReview: %T", obj))
	}
	u, _, err := requester(ctx, "selfsubjectaccessreviews")
	if err != nil {
		return nil, err
	}
	spec := review.Spec
	errs := append(validateMetadata(review.ObjectMeta, false), validateAttributes(spec.ResourceAttributes, spec.NonResourceAttributes)...)
	if err := invalid(ctx, "SelfSubjectAccessReview", obj, createValidation, errs); err != nil {
		return nil, err
	}
	review.Status = decide(ctx, r.Authorizer, u, spec.ResourceAttributes, spec.NonResourceAttributes)
	return review, nil
}

// SubjectAccessReviewREST answers SubjectAccessReviews: whether a user may do something in the
// request's account, as the authorizer decides it there (see subject).
type SubjectAccessReviewREST struct {
	virtual
	Authorizer authorizer.Authorizer
}

var (
	_ creator                   = &SubjectAccessReviewREST{}
	_ rest.Scoper               = &SubjectAccessReviewREST{}
	_ rest.SingularNameProvider = &SubjectAccessReviewREST{}
)

// New implements rest.Storage.
func (r *SubjectAccessReviewREST) New() runtime.Object { return &authorizationv1.SubjectAccessReview{} }

// GetSingularName implements rest.SingularNameProvider.
func (r *SubjectAccessReviewREST) GetSingularName() string { return "subjectaccessreview" }

// Create implements the create interface of rest.
func (r *SubjectAccessReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authorizationv1.SubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SubjectAccessReview: %T", obj))
	}
	status, err := answer(ctx, r.Authorizer, obj, review.ObjectMeta, review.Spec, createValidation, false)
	if err != nil {
		return nil, err
	}
	review.Status = status
	return review, nil
}

// LocalSubjectAccessReviewREST answers LocalSubjectAccessReviews: SubjectAccessReviews about the
// request's namespace only.
type LocalSubjectAccessReviewREST struct {
	virtual
	Authorizer authorizer.Authorizer
}

var (
	_ creator                   = &LocalSubjectAccessReviewREST{}
	_ rest.Scoper               = &LocalSubjectAccessReviewREST{}
	_ rest.SingularNameProvider = &LocalSubjectAccessReviewREST{}
)

// New implements rest.Storage.
func (r *LocalSubjectAccessReviewREST) New() runtime.Object {
	return &authorizationv1.LocalSubjectAccessReview{}
}

// NamespaceScoped implements rest.Scoper.
func (r *LocalSubjectAccessReviewREST) NamespaceScoped() bool { return true }

// GetSingularName implements rest.SingularNameProvider.
func (r *LocalSubjectAccessReviewREST) GetSingularName() string { return "localsubjectaccessreview" }

// Create implements the create interface of rest.
func (r *LocalSubjectAccessReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authorizationv1.LocalSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a LocalSubjectAccessReview: %T", obj))
	}
	status, err := answer(ctx, r.Authorizer, obj, review.ObjectMeta, review.Spec, createValidation, true)
	if err != nil {
		return nil, err
	}
	review.Status = status
	return review, nil
}

// answer validates a review about someone and answers it in the request's account with z; a
// local review is about its namespace only, which must be the request's.
func answer(ctx context.Context, z authorizer.Authorizer, obj runtime.Object, meta metav1.ObjectMeta, spec authorizationv1.SubjectAccessReviewSpec,
	createValidation rest.ValidateObjectFunc, local bool) (authorizationv1.SubjectAccessReviewStatus, error) {
	resource, kind := "subjectaccessreviews", "SubjectAccessReview"
	if local {
		resource, kind = "localsubjectaccessreviews", "LocalSubjectAccessReview"
	}
	_, id, err := requester(ctx, resource)
	if err != nil {
		return authorizationv1.SubjectAccessReviewStatus{}, err
	}
	errs := append(validateMetadata(meta, local), validateSpec(spec)...)
	if ra := spec.ResourceAttributes; local && ra != nil && ra.Namespace != meta.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "resourceAttributes", "namespace"), ra.Namespace, "must match metadata.namespace"))
	}
	if local && spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "nonResourceAttributes"), spec.NonResourceAttributes, "disallowed on this kind of request"))
	}
	if err := invalid(ctx, kind, obj, createValidation, errs); err != nil {
		return authorizationv1.SubjectAccessReviewStatus{}, err
	}
	if ns := genericapirequest.NamespaceValue(ctx); local && (ns == "" || ns != meta.Namespace) {
		return authorizationv1.SubjectAccessReviewStatus{}, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %v", ns))
	}
	return decide(ctx, z, subject(spec, id), spec.ResourceAttributes, spec.NonResourceAttributes), nil
}

// validateMetadata requires the metadata of a review to be empty (but for its namespace, when
// namespaced): reviews are not objects.
func validateMetadata(meta metav1.ObjectMeta, namespaced bool) field.ErrorList {
	meta.ManagedFields = nil
	want := "must be empty"
	if namespaced {
		meta.Namespace = ""
		want = "must be empty except for namespace"
	}
	if apiequality.Semantic.DeepEqual(metav1.ObjectMeta{}, meta) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata"), meta, want)}
}

// validateAttributes requires exactly one of resource and non-resource attributes.
func validateAttributes(ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) field.ErrorList {
	spec := field.NewPath("spec")
	switch {
	case ra != nil && nra != nil:
		return field.ErrorList{field.Invalid(spec.Child("nonResourceAttributes"), nra, "cannot be specified in combination with resourceAttributes")}
	case ra == nil && nra == nil:
		return field.ErrorList{field.Invalid(spec.Child("resourceAttributes"), nra, "exactly one of nonResourceAttributes or resourceAttributes must be specified")}
	}
	return nil
}

// validateSpec validates the spec of a review about someone: its attributes and its subject.
func validateSpec(spec authorizationv1.SubjectAccessReviewSpec) field.ErrorList {
	errs := validateAttributes(spec.ResourceAttributes, spec.NonResourceAttributes)
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "user"), spec.User, "at least one of user or group must be specified"))
	}
	return errs
}

// invalid returns the Invalid error of a review of kind with errs, or the admission error of
// createValidation, or nil.
func invalid(ctx context.Context, kind string, obj runtime.Object, createValidation rest.ValidateObjectFunc, errs field.ErrorList) error {
	if len(errs) > 0 {
		return apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind(kind).GroupKind(), "", errs)
	}
	if createValidation != nil {
		return createValidation(ctx, obj.DeepCopyObject())
	}
	return nil
}

// subject returns the user a review asks about, as the authorizer must see it in account id:
// without the groups reserved to the server (it adds them for one decision of its own, never
// to a request), and confined to id unless the spec confines it to another account already.
// Confinement only ever narrows what a user holds, so a review answers about the account it is
// asked in and is never more generous than that user's own requests there: a ServiceAccount
// name is the account's own ServiceAccount, and a user a TokenReview authenticated elsewhere
// (who carries that account in the reserved extra) holds here only what everyone holds.
func subject(spec authorizationv1.SubjectAccessReviewSpec, id cluster.ID) user.Info {
	extra := make(map[string][]string, len(spec.Extra)+1)
	var confinedTo []string
	for k, v := range spec.Extra {
		if authentication.IsReservedExtra(k) {
			confinedTo = append(confinedTo, v...)
			continue
		}
		extra[k] = slices.Clone(v)
	}
	slices.Sort(confinedTo)
	if confinedTo = slices.Compact(confinedTo); len(confinedTo) == 0 {
		confinedTo = []string{string(id)}
	}
	extra[authentication.AccountExtraKey] = confinedTo
	return &user.DefaultInfo{
		Name:   spec.User,
		UID:    spec.UID,
		Groups: slices.DeleteFunc(slices.Clone(spec.Groups), authentication.IsReservedGroup),
		Extra:  extra,
	}
}

// decide asks the authorizer whether u may do what ra or nra (exactly one is set) describe.
func decide(ctx context.Context, z authorizer.Authorizer, u user.Info, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizationv1.SubjectAccessReviewStatus {
	attrs := authorizer.AttributesRecord{User: u}
	if ra != nil {
		attrs.ResourceRequest = true
		attrs.Verb, attrs.Namespace, attrs.APIGroup, attrs.APIVersion = ra.Verb, ra.Namespace, ra.Group, ra.Version
		attrs.Resource, attrs.Subresource, attrs.Name = ra.Resource, ra.Subresource, ra.Name
	} else {
		attrs.Verb, attrs.Path = nra.Verb, nra.Path
	}
	decision, reason, err := z.Authorize(ctx, attrs)
	status := authorizationv1.SubjectAccessReviewStatus{Allowed: decision == authorizer.DecisionAllow, Reason: reason}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return status
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
