package flowcontrol

import (
	"math"
	"slices"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Defaults of the v1 API, as upstream applies them when it decodes a request.
const (
	defaultMatchingPrecedence       = 1000
	defaultNominalConcurrencyShares = 30
	defaultQueues                   = 64
	defaultHandSize                 = 8
	defaultQueueLengthLimit         = 50
	// maxHandEntropy bounds handSize * log2(queues), as upstream does.
	maxHandEntropy = 60
)

func defaultFlowSchema(spec *flowcontrolv1.FlowSchemaSpec) {
	if spec.MatchingPrecedence == 0 {
		spec.MatchingPrecedence = defaultMatchingPrecedence
	}
}

func defaultPriorityLevel(spec *flowcontrolv1.PriorityLevelConfigurationSpec) {
	zero := int32(0)
	if e := spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = &zero
		}
		if e.LendablePercent == nil {
			e.LendablePercent = &zero
		}
	}
	l := spec.Limited
	if l == nil {
		return
	}
	if l.NominalConcurrencyShares == nil {
		shares := int32(defaultNominalConcurrencyShares)
		l.NominalConcurrencyShares = &shares
	}
	if l.LendablePercent == nil {
		l.LendablePercent = &zero
	}
	if q := l.LimitResponse.Queuing; q != nil {
		if q.Queues == 0 {
			q.Queues = defaultQueues
		}
		if q.HandSize == 0 {
			q.HandSize = defaultHandSize
		}
		if q.QueueLengthLimit == 0 {
			q.QueueLengthLimit = defaultQueueLengthLimit
		}
	}
}

func validateFlowSchemaSpec(spec *flowcontrolv1.FlowSchemaSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if spec.MatchingPrecedence <= 0 || spec.MatchingPrecedence > 10000 {
		errs = append(errs, field.Invalid(p.Child("matchingPrecedence"), spec.MatchingPrecedence, "must be between 1 and 10000"))
	}
	if m := spec.DistinguisherMethod; m != nil && m.Type != flowcontrolv1.FlowDistinguisherMethodByUserType && m.Type != flowcontrolv1.FlowDistinguisherMethodByNamespaceType {
		errs = append(errs, field.NotSupported(p.Child("distinguisherMethod", "type"), m.Type,
			[]flowcontrolv1.FlowDistinguisherMethodType{flowcontrolv1.FlowDistinguisherMethodByUserType, flowcontrolv1.FlowDistinguisherMethodByNamespaceType}))
	}
	plPath := p.Child("priorityLevelConfiguration", "name")
	if spec.PriorityLevelConfiguration.Name == "" {
		errs = append(errs, field.Required(plPath, "must reference a priority level"))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(spec.PriorityLevelConfiguration.Name, false) {
			errs = append(errs, field.Invalid(plPath, spec.PriorityLevelConfiguration.Name, msg))
		}
	}
	for i := range spec.Rules {
		errs = append(errs, validatePolicyRules(&spec.Rules[i], p.Child("rules").Index(i))...)
	}
	return errs
}

func validatePolicyRules(r *flowcontrolv1.PolicyRulesWithSubjects, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Subjects) == 0 {
		errs = append(errs, field.Required(p.Child("subjects"), "subjects must contain at least one value"))
	}
	for i, s := range r.Subjects {
		errs = append(errs, validateSubject(s, p.Child("subjects").Index(i))...)
	}
	if len(r.ResourceRules) == 0 && len(r.NonResourceRules) == 0 {
		errs = append(errs, field.Required(p, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i, rr := range r.ResourceRules {
		rp := p.Child("resourceRules").Index(i)
		errs = append(errs, requireList(rr.Verbs, rp.Child("verbs"), true)...)
		errs = append(errs, requireList(rr.APIGroups, rp.Child("apiGroups"), true)...)
		errs = append(errs, requireList(rr.Resources, rp.Child("resources"), true)...)
		if len(rr.Namespaces) == 0 && !rr.ClusterScope {
			errs = append(errs, field.Required(rp.Child("namespaces"), "resource rules that are not cluster scoped must supply at least one namespace"))
		}
	}
	for i, nr := range r.NonResourceRules {
		np := p.Child("nonResourceRules").Index(i)
		errs = append(errs, requireList(nr.Verbs, np.Child("verbs"), true)...)
		errs = append(errs, requireList(nr.NonResourceURLs, np.Child("nonResourceURLs"), true)...)
	}
	return errs
}

// requireList requires a non-empty list; with star, "*" may only stand alone.
func requireList(values []string, p *field.Path, star bool) field.ErrorList {
	if len(values) == 0 {
		return field.ErrorList{field.Required(p, "must contain at least one value")}
	}
	if star && len(values) > 1 && slices.Contains(values, "*") {
		return field.ErrorList{field.Invalid(p, values, "if '*' is present, must not specify other values")}
	}
	return nil
}

func validateSubject(s flowcontrolv1.Subject, p *field.Path) field.ErrorList {
	switch s.Kind {
	case flowcontrolv1.SubjectKindUser:
		if s.User == nil || s.User.Name == "" {
			return field.ErrorList{field.Required(p.Child("user", "name"), "a User subject needs a name")}
		}
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil || s.Group.Name == "" {
			return field.ErrorList{field.Required(p.Child("group", "name"), "a Group subject needs a name")}
		}
	case flowcontrolv1.SubjectKindServiceAccount:
		if s.ServiceAccount == nil || s.ServiceAccount.Namespace == "" || s.ServiceAccount.Name == "" {
			return field.ErrorList{field.Required(p.Child("serviceAccount"), "a ServiceAccount subject needs a namespace and a name")}
		}
	default:
		return field.ErrorList{field.NotSupported(p.Child("kind"), s.Kind,
			[]flowcontrolv1.SubjectKind{flowcontrolv1.SubjectKindUser, flowcontrolv1.SubjectKindGroup, flowcontrolv1.SubjectKindServiceAccount})}
	}
	return nil
}

func validatePriorityLevelSpec(name string, spec *flowcontrolv1.PriorityLevelConfigurationSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	exemptName := name == flowcontrolv1.PriorityLevelConfigurationNameExempt
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if !exemptName {
			errs = append(errs, field.Invalid(p.Child("type"), spec.Type, "only the priority level named 'exempt' may be Exempt"))
		}
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(p.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := spec.Exempt; e != nil {
			errs = append(errs, validateShares(e.NominalConcurrencyShares, e.LendablePercent, p.Child("exempt"))...)
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if exemptName {
			errs = append(errs, field.Invalid(p.Child("type"), spec.Type, "the priority level named 'exempt' must be Exempt"))
		}
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(p.Child("exempt"), "must be nil if the type is Limited"))
		}
		if spec.Limited == nil {
			errs = append(errs, field.Required(p.Child("limited"), "must not be empty when type is Limited"))
			break
		}
		l, lp := spec.Limited, p.Child("limited")
		errs = append(errs, validateShares(l.NominalConcurrencyShares, l.LendablePercent, lp)...)
		if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
			errs = append(errs, field.Invalid(lp.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
		}
		errs = append(errs, validateLimitResponse(l.LimitResponse, lp.Child("limitResponse"))...)
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), spec.Type,
			[]flowcontrolv1.PriorityLevelEnablement{flowcontrolv1.PriorityLevelEnablementExempt, flowcontrolv1.PriorityLevelEnablementLimited}))
	}
	return errs
}

func validateShares(shares, lendable *int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if shares != nil && *shares < 0 {
		errs = append(errs, field.Invalid(p.Child("nominalConcurrencyShares"), *shares, "must be a non-negative integer"))
	}
	if lendable != nil && (*lendable < 0 || *lendable > 100) {
		errs = append(errs, field.Invalid(p.Child("lendablePercent"), *lendable, "must be between 0 and 100, inclusive"))
	}
	return errs
}

func validateLimitResponse(r flowcontrolv1.LimitResponse, p *field.Path) field.ErrorList {
	switch r.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if r.Queuing != nil {
			return field.ErrorList{field.Forbidden(p.Child("queuing"), "must be nil if limited.limitResponse.type is not Queue")}
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		q := r.Queuing
		if q == nil {
			return field.ErrorList{field.Required(p.Child("queuing"), "must not be empty if limited.limitResponse.type is Queue")}
		}
		var errs field.ErrorList
		qp := p.Child("queuing")
		if q.Queues <= 0 {
			errs = append(errs, field.Invalid(qp.Child("queues"), q.Queues, "must be positive"))
		}
		if q.QueueLengthLimit <= 0 {
			errs = append(errs, field.Invalid(qp.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
		}
		if q.HandSize <= 0 {
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, "must be positive"))
		} else if q.HandSize > q.Queues {
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, "should not be greater than queues"))
		} else if q.Queues > 0 && float64(q.HandSize)*math.Log2(float64(q.Queues)) > maxHandEntropy {
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, "required entropy bits of handSize and queues should not be greater than 60"))
		}
		return errs
	default:
		return field.ErrorList{field.NotSupported(p.Child("type"), r.Type,
			[]flowcontrolv1.LimitResponseType{flowcontrolv1.LimitResponseTypeQueue, flowcontrolv1.LimitResponseTypeReject})}
	}
	return nil
}
