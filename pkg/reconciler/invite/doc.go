// Package invite accepts and expires Invites (iam.accountmesh.io). The Acceptor grants the
// invites of a user who has just signed in with a verified email address, with the rights of
// each invite's inviter, checked again at that moment; the Controller marks pending invites
// Expired when their spec.expiresAt passes.
//
// It writes only the grants' ClusterRoleBindings (adding a subject, as `kubectl mesh grant`
// does) and the invites' status; it must not decide who may grant what (the RBAC escalation
// admission plugin's CheckGrant does) nor read ID tokens (the console verifies them).
package invite
