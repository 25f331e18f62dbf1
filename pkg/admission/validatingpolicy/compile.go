package validatingpolicy

import (
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// baseEnv is the CEL environment policies compile in, with upstream's cost limits.
var baseEnv = sync.OnceValue(func() *environment.EnvSet {
	return environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
})

// compile turns a policy into the evaluator upstream's dispatcher runs. Expressions that do not
// compile make an evaluator that reports the error, which the dispatcher handles by the policy's
// failurePolicy; compiling never fails.
func compile(p *admissionregistrationv1.ValidatingAdmissionPolicy) validating.Validator {
	spec := &p.Spec
	withParams := spec.ParamKind != nil
	// Validations and their audit annotations may use the authorizer; messages may not.
	decls := cel.OptionalVariableDeclarations{HasParams: withParams, HasAuthorizer: true}
	messageDecls := cel.OptionalVariableDeclarations{HasParams: withParams}
	compiler, err := cel.NewCompositedCompiler(baseEnv())
	if err != nil {
		return validating.NewValidator(nil, nil, nil, nil, spec.FailurePolicy, err)
	}
	variables := make([]cel.NamedExpressionAccessor, 0, len(spec.Variables))
	for _, v := range spec.Variables {
		variables = append(variables, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	compiler.CompileAndStoreVariables(variables, decls, environment.StoredExpressions)

	var matcher matchconditions.Matcher
	if len(spec.MatchConditions) > 0 {
		conditions := make([]cel.ExpressionAccessor, len(spec.MatchConditions))
		for i := range spec.MatchConditions {
			conditions[i] = (*matchconditions.MatchCondition)(&spec.MatchConditions[i])
		}
		matcher = matchconditions.NewMatcher(compiler.CompileCondition(conditions, decls, environment.StoredExpressions),
			spec.FailurePolicy, "policy", "validate", p.Name)
	}
	validations := make([]cel.ExpressionAccessor, len(spec.Validations))
	// messages is parallel to validations; a nil entry has no messageExpression.
	messages := make([]cel.ExpressionAccessor, len(spec.Validations))
	for i, v := range spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	annotations := make([]cel.ExpressionAccessor, len(spec.AuditAnnotations))
	for i, a := range spec.AuditAnnotations {
		annotations[i] = &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}
	}
	return validating.NewValidator(
		compiler.CompileCondition(validations, decls, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(annotations, decls, environment.StoredExpressions),
		compiler.CompileCondition(messages, messageDecls, environment.StoredExpressions),
		spec.FailurePolicy,
		nil,
	)
}
