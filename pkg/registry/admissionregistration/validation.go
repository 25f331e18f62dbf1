package admissionregistration

import (
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultPolicy applies upstream's v1 defaults to a policy spec: failurePolicy Fail and the
// defaults of its match constraints.
func DefaultPolicy(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
	if spec.FailurePolicy == nil {
		fail := admissionregistrationv1.Fail
		spec.FailurePolicy = &fail
	}
	defaultMatchResources(spec.MatchConstraints)
}

// DefaultBinding applies upstream's v1 defaults to a binding spec: the defaults of its match
// resources.
func DefaultBinding(spec *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) {
	defaultMatchResources(spec.MatchResources)
}

// defaultMatchResources sets matchPolicy Equivalent, empty (match everything) selectors and
// scope "*" on every rule, as upstream's defaulting does.
func defaultMatchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		equivalent := admissionregistrationv1.Equivalent
		m.MatchPolicy = &equivalent
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				all := admissionregistrationv1.AllScopes
				rules[i].Scope = &all
			}
		}
	}
}

func validatePolicySpec(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if pk := spec.ParamKind; pk != nil {
		pp := p.Child("paramKind")
		if pk.Kind == "" {
			errs = append(errs, field.Required(pp.Child("kind"), ""))
		}
		if gv, err := schema.ParseGroupVersion(pk.APIVersion); err != nil || gv.Version == "" {
			errs = append(errs, field.Invalid(pp.Child("apiVersion"), pk.APIVersion, "must be a group/version, e.g. v1 or example.com/v1"))
		}
	}
	if spec.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(spec.MatchConstraints, p.Child("matchConstraints"), true)...)
	}
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		errs = append(errs, field.Required(p.Child("validations"), "validations or auditAnnotations must contain at least one item"))
	}
	reasons := sets.New(metav1.StatusReasonUnauthorized, metav1.StatusReasonForbidden, metav1.StatusReasonInvalid, metav1.StatusReasonRequestEntityTooLarge)
	for i, v := range spec.Validations {
		vp := p.Child("validations").Index(i)
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), ""))
		}
		if v.Reason != nil && !reasons.Has(*v.Reason) {
			errs = append(errs, field.NotSupported(vp.Child("reason"), *v.Reason, sets.List(reasons)))
		}
	}
	keys := sets.New[string]()
	for i, a := range spec.AuditAnnotations {
		ap := p.Child("auditAnnotations").Index(i)
		if a.Key == "" {
			errs = append(errs, field.Required(ap.Child("key"), ""))
		} else if keys.Has(a.Key) {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		} else {
			keys.Insert(a.Key)
			for _, msg := range utilvalidation.IsQualifiedName("x/" + a.Key) {
				errs = append(errs, field.Invalid(ap.Child("key"), a.Key, msg))
			}
		}
		if a.ValueExpression == "" {
			errs = append(errs, field.Required(ap.Child("valueExpression"), ""))
		}
	}
	if fp := spec.FailurePolicy; fp != nil && *fp != admissionregistrationv1.Fail && *fp != admissionregistrationv1.Ignore {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *fp, []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail, admissionregistrationv1.Ignore}))
	}
	errs = append(errs, validateMatchConditions(spec.MatchConditions, p.Child("matchConditions"))...)
	vars := sets.New[string]()
	for i, v := range spec.Variables {
		vp := p.Child("variables").Index(i)
		switch {
		case !isCELIdentifier(v.Name):
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, "must be a CEL identifier: a letter or _, then letters, digits or _"))
		case vars.Has(v.Name):
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		default:
			vars.Insert(v.Name)
		}
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), ""))
		}
	}
	return errs
}

func validateBindingSpec(spec *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if spec.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	}
	actions := p.Child("validationActions")
	if len(spec.ValidationActions) == 0 {
		errs = append(errs, field.Required(actions, "must contain at least one of Deny, Warn, Audit"))
	}
	seen := sets.New[admissionregistrationv1.ValidationAction]()
	for i, a := range spec.ValidationActions {
		switch {
		case a != admissionregistrationv1.Deny && a != admissionregistrationv1.Warn && a != admissionregistrationv1.Audit:
			errs = append(errs, field.NotSupported(actions.Index(i), a, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Warn, admissionregistrationv1.Audit}))
		case seen.Has(a):
			errs = append(errs, field.Duplicate(actions.Index(i), a))
		}
		seen.Insert(a)
	}
	if seen.Has(admissionregistrationv1.Deny) && seen.Has(admissionregistrationv1.Warn) {
		errs = append(errs, field.Invalid(actions, spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if r := spec.ParamRef; r != nil {
		rp := p.Child("paramRef")
		switch {
		case r.Name != "" && r.Selector != nil:
			errs = append(errs, field.Forbidden(rp.Child("name"), "name and selector are mutually exclusive"))
		case r.Name == "" && r.Selector == nil:
			errs = append(errs, field.Required(rp, "one of name or selector must be set"))
		}
		if r.Selector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(r.Selector, metav1validation.LabelSelectorValidationOptions{}, rp.Child("selector"))...)
		}
		if r.ParameterNotFoundAction == nil {
			errs = append(errs, field.Required(rp.Child("parameterNotFoundAction"), ""))
		} else if a := *r.ParameterNotFoundAction; a != admissionregistrationv1.DenyAction && a != admissionregistrationv1.AllowAction {
			errs = append(errs, field.NotSupported(rp.Child("parameterNotFoundAction"), a, []admissionregistrationv1.ParameterNotFoundActionType{admissionregistrationv1.DenyAction, admissionregistrationv1.AllowAction}))
		}
	}
	if spec.MatchResources != nil {
		errs = append(errs, validateMatchResources(spec.MatchResources, p.Child("matchResources"), false)...)
	}
	return errs
}

// validateMatchResources validates match constraints; a policy's must name resource rules.
func validateMatchResources(m *admissionregistrationv1.MatchResources, p *field.Path, requireRules bool) field.ErrorList {
	var errs field.ErrorList
	if mp := m.MatchPolicy; mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, []admissionregistrationv1.MatchPolicyType{admissionregistrationv1.Exact, admissionregistrationv1.Equivalent}))
	}
	opts := metav1validation.LabelSelectorValidationOptions{}
	if m.NamespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(m.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	}
	if m.ObjectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(m.ObjectSelector, opts, p.Child("objectSelector"))...)
	}
	if requireRules && len(m.ResourceRules) == 0 {
		errs = append(errs, field.Required(p.Child("resourceRules"), ""))
	}
	for i := range m.ResourceRules {
		errs = append(errs, validateRule(&m.ResourceRules[i], p.Child("resourceRules").Index(i))...)
	}
	for i := range m.ExcludeResourceRules {
		errs = append(errs, validateRule(&m.ExcludeResourceRules[i], p.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

func validateRule(r *admissionregistrationv1.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll, admissionregistrationv1.Create,
		admissionregistrationv1.Update, admissionregistrationv1.Delete, admissionregistrationv1.Connect}
	errs = append(errs, requireList(r.Operations, p.Child("operations"))...)
	for i, op := range r.Operations {
		if !slices.Contains(ops, op) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, ops))
		}
	}
	errs = append(errs, requireList(r.APIGroups, p.Child("apiGroups"))...)
	errs = append(errs, requireList(r.APIVersions, p.Child("apiVersions"))...)
	errs = append(errs, requireList(r.Resources, p.Child("resources"))...)
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), "must not be empty"))
		}
	}
	for i, res := range r.Resources {
		if res == "" {
			errs = append(errs, field.Required(p.Child("resources").Index(i), "must not be empty"))
		}
	}
	if s := r.Scope; s != nil && *s != admissionregistrationv1.AllScopes && *s != admissionregistrationv1.ClusterScope && *s != admissionregistrationv1.NamespacedScope {
		errs = append(errs, field.NotSupported(p.Child("scope"), *s, []admissionregistrationv1.ScopeType{admissionregistrationv1.AllScopes, admissionregistrationv1.ClusterScope, admissionregistrationv1.NamespacedScope}))
	}
	return errs
}

// requireList requires a non-empty list in which "*" stands alone.
func requireList[T ~string](values []T, p *field.Path) field.ErrorList {
	if len(values) == 0 {
		return field.ErrorList{field.Required(p, "must contain at least one value")}
	}
	if len(values) > 1 && slices.Contains(values, "*") {
		return field.ErrorList{field.Invalid(p, values, "if '*' is present, must not specify other values")}
	}
	return nil
}

// isCELIdentifier reports whether s is a CEL identifier.
func isCELIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
