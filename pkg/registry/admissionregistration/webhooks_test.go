package admissionregistration

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"
)

func validWebhook() *admissionregistrationv1.ValidatingWebhookConfiguration {
	return &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
		Name:         "check.hooks.example.com",
		ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://hooks.example.com/check")},
		Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}},
		SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
		AdmissionReviewVersions: []string{"v1"},
	}}}
}

func TestValidateWebhookConfiguration(t *testing.T) {
	t.Parallel()
	refuseInternal := func(_ context.Context, url string) error {
		if url == "https://internal/x" {
			return errors.New("host internal resolves to 127.0.0.1, a loopback address")
		}
		return nil
	}
	for _, tc := range []struct {
		name      string
		change    func(*admissionregistrationv1.ValidatingWebhook)
		wantField string
	}{
		{"valid", func(*admissionregistrationv1.ValidatingWebhook) {}, ""},
		{"service", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.ClientConfig = admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "a", Name: "b"}}
		}, "webhooks[0].clientConfig.service"},
		{"no url", func(h *admissionregistrationv1.ValidatingWebhook) { h.ClientConfig.URL = nil }, "webhooks[0].clientConfig.url"},
		{"http", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.ClientConfig.URL = ptr.To("http://hooks.example.com")
		}, "webhooks[0].clientConfig.url"},
		{"refused by the egress check", func(h *admissionregistrationv1.ValidatingWebhook) { h.ClientConfig.URL = ptr.To("https://internal/x") }, "webhooks[0].clientConfig.url"},
		{"query", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.ClientConfig.URL = ptr.To("https://hooks.example.com/?a=b")
		}, "webhooks[0].clientConfig.url"},
		{"short name", func(h *admissionregistrationv1.ValidatingWebhook) { h.Name = "check" }, "webhooks[0].name"},
		{"no side effects", func(h *admissionregistrationv1.ValidatingWebhook) { h.SideEffects = nil }, "webhooks[0].sideEffects"},
		{"side effects Some", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.SideEffects = ptr.To(admissionregistrationv1.SideEffectClassSome)
		}, "webhooks[0].sideEffects"},
		{"no review versions", func(h *admissionregistrationv1.ValidatingWebhook) { h.AdmissionReviewVersions = nil }, "webhooks[0].admissionReviewVersions"},
		{"unknown review version", func(h *admissionregistrationv1.ValidatingWebhook) { h.AdmissionReviewVersions = []string{"v2"} }, "webhooks[0].admissionReviewVersions"},
		{"timeout", func(h *admissionregistrationv1.ValidatingWebhook) { h.TimeoutSeconds = ptr.To(int32(31)) }, "webhooks[0].timeoutSeconds"},
		{"failure policy", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.FailurePolicy = ptr.To(admissionregistrationv1.FailurePolicyType("Maybe"))
		}, "webhooks[0].failurePolicy"},
		{"match condition without expression", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "a"}}
		}, "webhooks[0].matchConditions[0].expression"},
		{"match condition that does not compile", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "a", Expression: "object.metadata.name =="}}
		}, "webhooks[0].matchConditions[0].expression"},
		{"match condition that is not a bool", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "a", Expression: "'x'"}}
		}, "webhooks[0].matchConditions[0].expression"},
		{"match condition with the authorizer", func(h *admissionregistrationv1.ValidatingWebhook) {
			h.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "a",
				Expression: "authorizer.group('').resource('configmaps').check('get').allowed() && request.userInfo.username != 'x'"}}
		}, ""},
		{"rule without resources", func(h *admissionregistrationv1.ValidatingWebhook) { h.Rules[0].Resources = nil }, "webhooks[0].rules[0].resources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validWebhook()
			tc.change(&c.Webhooks[0])
			o := validatingWebhookOptions(refuseInternal)
			o.PrepareForCreate(t.Context(), c)
			errs := o.Validate(t.Context(), c)
			if tc.wantField == "" {
				require.Empty(t, errs)
				require.Equal(t, int32(10), *c.Webhooks[0].TimeoutSeconds, "defaulted")
				require.Equal(t, admissionregistrationv1.Fail, *c.Webhooks[0].FailurePolicy, "defaulted")
				return
			}
			require.NotEmpty(t, errs)
			require.Equal(t, tc.wantField, errs[0].Field, errs.ToAggregate())
		})
	}
}

func TestValidateDuplicateWebhookNames(t *testing.T) {
	t.Parallel()
	c := &admissionregistrationv1.MutatingWebhookConfiguration{}
	for range 2 {
		v := validWebhook().Webhooks[0]
		c.Webhooks = append(c.Webhooks, admissionregistrationv1.MutatingWebhook{Name: v.Name, ClientConfig: v.ClientConfig, Rules: v.Rules,
			SideEffects: v.SideEffects, AdmissionReviewVersions: v.AdmissionReviewVersions, ReinvocationPolicy: ptr.To(admissionregistrationv1.ReinvocationPolicyType("Sometimes"))})
	}
	o := mutatingWebhookOptions(func(context.Context, string) error { return nil })
	errs := o.Validate(t.Context(), c)
	fields := []string{}
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	require.ElementsMatch(t, []string{"webhooks[1].name", "webhooks[0].reinvocationPolicy", "webhooks[1].reinvocationPolicy"}, fields)
}
