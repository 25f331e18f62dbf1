// Package orchestration runs the controller of OrchestrationContexts: it reads each context's
// members with the platform's identity, but reports of a member only what the context's
// requester (the user who last set its members, recorded by the server) may read there now:
// whether it is ready, the reason, the message of its own Ready condition and its generation,
// never its spec. Before reading a member it asks the member's account, with a
// SubjectAccessReview, whether the requester may still get and watch it; a member the
// requester may not read, in an account or of a kind that does not exist, shows Unauthorized.
//
// A selector member is expanded on every reconcile: in its account and, with subtree, every
// account below it (at most MaxSelectorAccounts), it asks with a SubjectAccessReview whether
// the requester may still get, list and watch the kind there (any no: Unauthorized), then
// lists the objects matching its label selector there (at most MaxSelectorMatches, beyond
// which it shows SelectorCapped). Each match is a member of its own in the status, named
// <member>/<account path>/<namespace>/<name>, with the selector's dependencies and readiness
// expression; the selector is ready when it matches something and every match is ready.
//
// It is driven by events, not polling: for every group/resource some context references, one
// watch of its objects' metadata in all accounts (/clusters/*/...; for a resource bound from
// an export, <resource>:<identityHash>, found in the APIBindings of the member's account),
// started when a context first references it and stopped when none does. The watches keep
// only the objects that some context names or that lie in an account a selector reaches
// (whatever their labels, so that an object that stops matching is noticed too), and a change
// of one queues the contexts concerned.
//
// What an account serves (its discovery, per group version) is cached until a CRD or APIBinding
// of the account changes, or for a minute at most; the requester's access is reviewed anew on
// every reconcile.
//
// It talks to the server only through clients, and writes only the status of contexts and
// Events about them.
package orchestration
