// Package admissionregistration holds the storage, defaulting and validation of
// admissionregistration.k8s.io/v1 ValidatingAdmissionPolicies and
// ValidatingAdmissionPolicyBindings, ValidatingWebhookConfigurations and
// MutatingWebhookConfigurations, as every account serves them. Webhooks are called by URL only
// (there are no Services), and a URL the server may not call (CheckURL) is refused.
//
// It only stores and validates, per account like any other resource (isolation lives in
// pkg/storage below it). pkg/admission/validatingpolicy enforces the policies,
// pkg/admission/webhook calls the webhooks, and pkg/reconciler/admissionpolicy writes a
// policy's type-checking status. Policies' expressions are not compiled here: a policy whose
// CEL does not compile is stored, and its status says why; webhooks' matchConditions are
// compiled, as upstream does, and refused when they do not compile.
package admissionregistration
