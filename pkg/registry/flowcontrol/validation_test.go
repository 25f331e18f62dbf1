package flowcontrol

import (
	"testing"

	"github.com/stretchr/testify/require"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/utils/ptr"
)

func TestBootstrapConfigurationIsValid(t *testing.T) {
	t.Parallel()
	for _, pl := range append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...) {
		spec := pl.Spec.DeepCopy()
		defaultPriorityLevel(spec)
		require.Empty(t, validatePriorityLevelSpec(pl.Name, spec), pl.Name)
	}
	for _, fs := range append(bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas...) {
		spec := fs.Spec.DeepCopy()
		defaultFlowSchema(spec)
		require.Empty(t, validateFlowSchemaSpec(spec), fs.Name)
	}
}

func TestValidatePriorityLevel(t *testing.T) {
	t.Parallel()
	queued := func(q flowcontrolv1.QueuingConfiguration) *flowcontrolv1.PriorityLevelConfigurationSpec {
		return &flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr.To[int32](1),
				LimitResponse:            flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &q},
			}}
	}
	for _, tc := range []struct {
		name, plName string
		spec         *flowcontrolv1.PriorityLevelConfigurationSpec
		wantField    string
	}{
		{"valid", "x", queued(flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 4, QueueLengthLimit: 5}), ""},
		{"hand larger than queues", "x", queued(flowcontrolv1.QueuingConfiguration{Queues: 2, HandSize: 4, QueueLengthLimit: 5}), "spec.limited.limitResponse.queuing.handSize"},
		{"too much entropy", "x", queued(flowcontrolv1.QueuingConfiguration{Queues: 1 << 20, HandSize: 4, QueueLengthLimit: 5}), "spec.limited.limitResponse.queuing.handSize"},
		{"only exempt is exempt", "x", &flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt}, "spec.type"},
		{"exempt must be exempt", "exempt", queued(flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 4, QueueLengthLimit: 5}), "spec.type"},
		{"limited needs limited", "x", &flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited}, "spec.limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := validatePriorityLevelSpec(tc.plName, tc.spec)
			if tc.wantField == "" {
				require.Empty(t, errs)
				return
			}
			require.NotEmpty(t, errs)
			require.Equal(t, tc.wantField, errs[0].Field)
		})
	}
}

func TestValidateFlowSchema(t *testing.T) {
	t.Parallel()
	spec := &flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "global-default"},
		MatchingPrecedence:         20000,
		DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: "ByAccount"},
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
			Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser}},
			ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get", "*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		}},
	}
	var fields []string
	for _, e := range validateFlowSchemaSpec(spec) {
		fields = append(fields, e.Field)
	}
	require.ElementsMatch(t, []string{
		"spec.matchingPrecedence", "spec.distinguisherMethod.type", "spec.rules[0].subjects[0].user.name",
		"spec.rules[0].resourceRules[0].verbs", "spec.rules[0].resourceRules[0].namespaces",
	}, fields)
}
