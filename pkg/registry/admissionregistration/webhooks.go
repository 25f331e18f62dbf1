package admissionregistration

import (
	"context"
	"slices"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"

	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// CheckURL returns why a webhook may not be called at a URL, or nil.
type CheckURL func(ctx context.Context, url string) error

// maxMatchConditions is upstream's limit of matchConditions per webhook.
const maxMatchConditions = 64

// webhook is what validation reads of a validating or mutating webhook.
type webhook struct {
	name                    string
	clientConfig            *admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	namespaceSelector       *metav1.LabelSelector
	objectSelector          *metav1.LabelSelector
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
}

func validatingWebhookOptions(check CheckURL) store.Options {
	hooks := func(obj runtime.Object) []admissionregistrationv1.ValidatingWebhook {
		return obj.(*admissionregistrationv1.ValidatingWebhookConfiguration).Webhooks
	}
	return store.Options{
		Resource: admissionregistrationv1.Resource("validatingwebhookconfigurations"),
		Singular: "validatingwebhookconfiguration",
		New:      func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} },
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			for i := range hooks(obj) {
				defaultValidatingWebhook(&hooks(obj)[i])
			}
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			for i := range hooks(obj) {
				defaultValidatingWebhook(&hooks(obj)[i])
			}
		},
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			var ws []webhook
			for i := range hooks(obj) {
				h := &hooks(obj)[i]
				ws = append(ws, webhook{h.Name, &h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector,
					h.ObjectSelector, h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.MatchConditions})
			}
			return validateWebhooks(ctx, ws, check)
		},
		Categories: []string{"api-extensions"},
		Columns:    []store.Column{webhooksColumn(func(obj runtime.Object) int { return len(hooks(obj)) })},
	}
}

func mutatingWebhookOptions(check CheckURL) store.Options {
	hooks := func(obj runtime.Object) []admissionregistrationv1.MutatingWebhook {
		return obj.(*admissionregistrationv1.MutatingWebhookConfiguration).Webhooks
	}
	return store.Options{
		Resource: admissionregistrationv1.Resource("mutatingwebhookconfigurations"),
		Singular: "mutatingwebhookconfiguration",
		New:      func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfiguration{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfigurationList{} },
		PrepareForCreate: func(_ context.Context, obj runtime.Object) {
			for i := range hooks(obj) {
				defaultMutatingWebhook(&hooks(obj)[i])
			}
		},
		PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
			for i := range hooks(obj) {
				defaultMutatingWebhook(&hooks(obj)[i])
			}
		},
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			var ws []webhook
			var errs field.ErrorList
			for i := range hooks(obj) {
				h := &hooks(obj)[i]
				ws = append(ws, webhook{h.Name, &h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector,
					h.ObjectSelector, h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.MatchConditions})
				if r := h.ReinvocationPolicy; r != nil && *r != admissionregistrationv1.NeverReinvocationPolicy && *r != admissionregistrationv1.IfNeededReinvocationPolicy {
					errs = append(errs, field.NotSupported(field.NewPath("webhooks").Index(i).Child("reinvocationPolicy"), *r,
						[]admissionregistrationv1.ReinvocationPolicyType{admissionregistrationv1.NeverReinvocationPolicy, admissionregistrationv1.IfNeededReinvocationPolicy}))
				}
			}
			return append(validateWebhooks(ctx, ws, check), errs...)
		},
		Categories: []string{"api-extensions"},
		Columns:    []store.Column{webhooksColumn(func(obj runtime.Object) int { return len(hooks(obj)) })},
	}
}

func webhooksColumn(count func(runtime.Object) int) store.Column {
	return store.Column{Name: "Webhooks", Type: "integer", Description: "The number of webhooks.",
		Value: func(obj runtime.Object) interface{} { return count(obj) }}
}

// defaultValidatingWebhook applies upstream's v1 defaults.
func defaultValidatingWebhook(h *admissionregistrationv1.ValidatingWebhook) {
	defaultWebhook(&h.FailurePolicy, &h.MatchPolicy, &h.NamespaceSelector, &h.ObjectSelector, &h.TimeoutSeconds, h.Rules)
}

// defaultMutatingWebhook applies upstream's v1 defaults; reinvocationPolicy Never.
func defaultMutatingWebhook(h *admissionregistrationv1.MutatingWebhook) {
	defaultWebhook(&h.FailurePolicy, &h.MatchPolicy, &h.NamespaceSelector, &h.ObjectSelector, &h.TimeoutSeconds, h.Rules)
	if h.ReinvocationPolicy == nil {
		never := admissionregistrationv1.NeverReinvocationPolicy
		h.ReinvocationPolicy = &never
	}
}

// defaultWebhook sets failurePolicy Fail, matchPolicy Equivalent, empty (match everything)
// selectors, timeoutSeconds 10 and scope "*" on every rule, as upstream's v1 defaulting does.
func defaultWebhook(fp **admissionregistrationv1.FailurePolicyType, mp **admissionregistrationv1.MatchPolicyType,
	ns, obj **metav1.LabelSelector, timeout **int32, rules []admissionregistrationv1.RuleWithOperations) {
	if *fp == nil {
		fail := admissionregistrationv1.Fail
		*fp = &fail
	}
	if *mp == nil {
		equivalent := admissionregistrationv1.Equivalent
		*mp = &equivalent
	}
	if *ns == nil {
		*ns = &metav1.LabelSelector{}
	}
	if *obj == nil {
		*obj = &metav1.LabelSelector{}
	}
	if *timeout == nil {
		ten := int32(10)
		*timeout = &ten
	}
	for i := range rules {
		if rules[i].Scope == nil {
			all := admissionregistrationv1.AllScopes
			rules[i].Scope = &all
		}
	}
}

// validateWebhooks validates the webhooks of a configuration as upstream's v1 validation does
// for what accounts serve, and refuses any webhook that is not called by an allowed URL.
func validateWebhooks(ctx context.Context, hooks []webhook, check CheckURL) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, h := range hooks {
		p := field.NewPath("webhooks").Index(i)
		switch {
		case h.name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names.Has(h.name):
			errs = append(errs, field.Duplicate(p.Child("name"), h.name))
		default:
			names.Insert(h.name)
			errs = append(errs, utilvalidation.IsFullyQualifiedName(p.Child("name"), h.name)...)
		}
		errs = append(errs, validateClientConfig(ctx, h.clientConfig, p.Child("clientConfig"), check)...)
		for j := range h.rules {
			errs = append(errs, validateRule(&admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: h.rules[j]}, p.Child("rules").Index(j))...)
		}
		if fp := h.failurePolicy; fp != nil && *fp != admissionregistrationv1.Fail && *fp != admissionregistrationv1.Ignore {
			errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *fp, []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail, admissionregistrationv1.Ignore}))
		}
		if mp := h.matchPolicy; mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
			errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, []admissionregistrationv1.MatchPolicyType{admissionregistrationv1.Exact, admissionregistrationv1.Equivalent}))
		}
		opts := metav1validation.LabelSelectorValidationOptions{}
		if h.namespaceSelector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(h.namespaceSelector, opts, p.Child("namespaceSelector"))...)
		}
		if h.objectSelector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(h.objectSelector, opts, p.Child("objectSelector"))...)
		}
		sideEffects := []admissionregistrationv1.SideEffectClass{admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.SideEffectClassNoneOnDryRun}
		switch {
		case h.sideEffects == nil:
			errs = append(errs, field.Required(p.Child("sideEffects"), "must be one of None, NoneOnDryRun"))
		case !slices.Contains(sideEffects, *h.sideEffects):
			errs = append(errs, field.NotSupported(p.Child("sideEffects"), *h.sideEffects, sideEffects))
		}
		if t := h.timeoutSeconds; t != nil && (*t < 1 || *t > 30) {
			errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
		}
		errs = append(errs, validateReviewVersions(h.admissionReviewVersions, p.Child("admissionReviewVersions"))...)
		errs = append(errs, validateMatchConditions(h.matchConditions, p.Child("matchConditions"))...)
		errs = append(errs, compileMatchConditions(h.matchConditions, p.Child("matchConditions"))...)
	}
	return errs
}

// conditionCompiler compiles webhooks' matchConditions as upstream's plugins do.
var conditionCompiler = sync.OnceValue(func() plugincel.Compiler {
	return plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
})

// compileMatchConditions refuses matchConditions that do not compile to a bool, as upstream
// does when a webhook configuration is written: one that cannot be evaluated would fail every
// request the webhook matches.
func compileMatchConditions(conditions []admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range conditions {
		if c.Expression == "" {
			continue
		}
		r := conditionCompiler().CompileCELExpression(&matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression},
			plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.NewExpressions)
		if r.Error != nil {
			errs = append(errs, field.Invalid(p.Index(i).Child("expression"), c.Expression, r.Error.Detail))
		}
	}
	return errs
}

// validateClientConfig allows a URL only: there are no Services to call.
func validateClientConfig(ctx context.Context, cc *admissionregistrationv1.WebhookClientConfig, p *field.Path, check CheckURL) field.ErrorList {
	switch {
	case cc.Service != nil:
		return field.ErrorList{field.Forbidden(p.Child("service"), "there are no Services: a webhook is called by clientConfig.url")}
	case cc.URL == nil:
		return field.ErrorList{field.Required(p.Child("url"), "there are no Services: a webhook is called by clientConfig.url")}
	}
	if errs := webhookutil.ValidateWebhookURL(p.Child("url"), *cc.URL, true); len(errs) > 0 {
		return errs
	}
	if err := check(ctx, *cc.URL); err != nil {
		return field.ErrorList{field.Invalid(p.Child("url"), *cc.URL, err.Error())}
	}
	return nil
}

// validateReviewVersions requires the versions of AdmissionReview the webhook accepts to name
// one the server sends (v1 or v1beta1), each once.
func validateReviewVersions(versions []string, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "must specify one of v1, v1beta1")}
	}
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, v := range versions {
		if seen.Has(v) {
			errs = append(errs, field.Duplicate(p.Index(i), v))
		}
		seen.Insert(v)
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
	}
	if !seen.Has("v1") && !seen.Has("v1beta1") {
		errs = append(errs, field.Invalid(p, versions, "must include at least one of v1, v1beta1"))
	}
	return errs
}

// validateMatchConditions requires unique qualified names and expressions.
func validateMatchConditions(conditions []admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(conditions) > maxMatchConditions {
		errs = append(errs, field.TooMany(p, len(conditions), maxMatchConditions))
	}
	names := sets.New[string]()
	for i, c := range conditions {
		cp := p.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(cp.Child("name"), ""))
		case names.Has(c.Name):
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		default:
			names.Insert(c.Name)
			for _, msg := range utilvalidation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
		}
		if c.Expression == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		}
	}
	return errs
}
