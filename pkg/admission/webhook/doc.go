// Package webhook calls admission webhooks per account: the ValidatingWebhookConfigurations
// and MutatingWebhookConfigurations of the request's account, and those of its ancestors
// labelled accountmesh.io/inherit: "true", with upstream's webhook plugins (matching rules and
// selectors, matchConditions, failurePolicy, timeouts, sideEffects and dry run, reinvocation,
// metrics) over an index of every account's configurations fed by wildcard informers.
//
// A configuration in one account is never called for another account's requests unless it
// is inherited from an ancestor. Upstream's plugins are built per account (over a frozen view
// of the configurations that apply there and the account's namespaces) and rebuilt when any
// configuration changes. Every AdmissionReview carries the account in the user's extra
// (AccountPathExtraKey, AccountIDExtraKey). Webhooks are called by URL only, without
// credentials, and Egress refuses to connect to loopback (unless allowed), link-local,
// unspecified and multicast addresses, when a URL is written and again on every connection.
// As upstream, the admission configuration resources themselves and reviews that store
// nothing are never sent to webhooks; nor, as for admission policies, are the server's own
// in-process controllers' requests.
//
// It must not look at any account but the request's and its ancestors', and must not send
// credentials of the server or of the user to a webhook.
package webhook
