// Package validatingpolicy enforces ValidatingAdmissionPolicies per account, with upstream's
// evaluation (k8s.io/apiserver's validating policy dispatcher, CEL compiler and matcher) over an
// index of every account's policies and bindings.
//
// A request in an account is checked against the bindings of that account and the bindings
// labelled accountmesh.io/inherit: "true" of each of its ancestors. A binding's policy and its
// params are resolved in the binding's own account, never in the request's: a binding in one
// account never applies to another account's requests unless it is inherited from an ancestor,
// and a descendant cannot shadow, change or remove what it inherits. As upstream, requests for
// the admission policy resources themselves are never checked by policies, so no policy locks an
// account's admin out of deleting it; nor are the server's own in-process controllers, which
// keep every account's built-in content (what they do on a user's behalf impersonates the user
// and is checked). A binding labelled to flow down may be written only by who may write bindings
// through inherited grants, as for inherited RBAC.
//
// A provider's APIExport may name bindings of its account in spec.admissionPolicies: in every
// account that binds the export, they are evaluated for requests on the export's resources
// there, and on nothing else, whatever their match says (policy and params resolved in the
// provider's account), so a provider polices its API but never a consumer's other objects.
//
// Nothing here walks etcd on a request: the index is fed by wildcard informers, the hooks of an
// account are computed once per change of any policy or binding, and compiled policies are
// cached per account, policy and generation. Param objects are read through the binding's
// account when a policy uses them.
//
// It must not mutate requests and must not look at any account but the request's, its
// ancestors and the provider accounts of the exports it binds.
package validatingpolicy
