package admissionregistration

import (
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func validPolicy() *admissionregistrationv1.ValidatingAdmissionPolicySpec {
	return &admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
			RuleWithOperations: admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			},
		}}},
		Validations: []admissionregistrationv1.Validation{{Expression: "object.metadata.name != 'x'"}},
	}
}

func TestValidatePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		change    func(*admissionregistrationv1.ValidatingAdmissionPolicySpec)
		wantField string
	}{
		{"valid", func(*admissionregistrationv1.ValidatingAdmissionPolicySpec) {}, ""},
		{"CEL that does not compile is stored", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.Validations[0].Expression = "object.metadata.name ==="
		}, ""},
		{"no match constraints", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.MatchConstraints = nil }, "spec.matchConstraints"},
		{"no resource rules", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.MatchConstraints.ResourceRules = nil
		}, "spec.matchConstraints.resourceRules"},
		{"no validations", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.Validations = nil }, "spec.validations"},
		{"empty expression", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.Validations[0].Expression = "" }, "spec.validations[0].expression"},
		{"bad failure policy", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.FailurePolicy = ptr.To(admissionregistrationv1.FailurePolicyType("Sometimes"))
		}, "spec.failurePolicy"},
		{"bad variable name", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.Variables = []admissionregistrationv1.Variable{{Name: "1x", Expression: "1"}}
		}, "spec.variables[0].name"},
		{"star with others", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.MatchConstraints.ResourceRules[0].Resources = []string{"*", "secrets"}
		}, "spec.matchConstraints.resourceRules[0].resources"},
		{"bad paramKind", func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "a/b/c", Kind: "X"}
		}, "spec.paramKind.apiVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := validPolicy()
			tc.change(spec)
			DefaultPolicy(spec)
			errs := validatePolicySpec(spec)
			if tc.wantField == "" {
				require.Empty(t, errs)
				return
			}
			require.NotEmpty(t, errs)
			require.Equal(t, tc.wantField, errs[0].Field, errs.ToAggregate())
		})
	}
}

func TestValidateBinding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		spec      admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec
		wantField string
	}{
		{"valid", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Audit}}, ""},
		{"no policy", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}, "spec.policyName"},
		{"no actions", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p"}, "spec.validationActions"},
		{"deny and warn", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Warn}}, "spec.validationActions"},
		{"unknown action", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p",
			ValidationActions: []admissionregistrationv1.ValidationAction{"Nope"}}, "spec.validationActions[0]"},
		{"param name and selector", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			ParamRef: &admissionregistrationv1.ParamRef{Name: "x", Selector: &metav1.LabelSelector{},
				ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)}}, "spec.paramRef.name"},
		{"param without not-found action", admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			ParamRef:          &admissionregistrationv1.ParamRef{Name: "x"}}, "spec.paramRef.parameterNotFoundAction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := tc.spec
			DefaultBinding(&spec)
			errs := validateBindingSpec(&spec)
			if tc.wantField == "" {
				require.Empty(t, errs)
				return
			}
			require.NotEmpty(t, errs)
			require.Equal(t, tc.wantField, errs[0].Field, errs.ToAggregate())
		})
	}
}
