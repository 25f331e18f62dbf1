// Package orchestration runs the controller of OrchestrationContexts: it reads each context's
// members with the platform's identity, but reports of a member only what the context's
// requester (the user who last set its members, recorded by the server) may read there now:
// whether it is ready, the reason, the message of its own Ready condition and its generation,
// never its spec. Before reading a member it asks the member's account, with a
// SubjectAccessReview, whether the requester may still get and watch it; a member the
// requester may not read, in an account or of a kind that does not exist, shows Unauthorized.
//
// It is driven by events, not polling: for every group/resource some context references, one
// watch of its objects' metadata in all accounts (/clusters/*/...; for a resource bound from
// an export, <resource>:<identityHash>, found in the APIBindings of the member's account),
// started when a context first references it and stopped when none does. The watches keep
// only the objects that some context names, and a change of one queues the contexts that name
// it.
//
// It talks to the server only through clients, and writes only the status of contexts and
// Events about them.
package orchestration
