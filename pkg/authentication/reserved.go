package authentication

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// ReservedGroupPrefix starts the groups that only the server itself adds, for a single
// decision (which consumer account a binding comes from). No authenticator may hand them out.
const ReservedGroupPrefix = "accountmesh:"

// AccountExtraKey is the user extra that confines an identity to one account, by cluster ID:
// ServiceAccounts to their own account, impersonated identities to the account in which the
// impersonation was authorised. Such an identity holds nothing anywhere else (pkg/authorization
// enforces it). Only the server sets it: WithoutReservedGroups drops it from authenticated users
// and impersonating it is never allowed.
const AccountExtraKey = "accountmesh.io/account"

// OrganizationExtraKey is the user extra that carries the cluster ID of the organisation whose
// identity provider authenticated the user (pkg/authentication/oidc sets it).
const OrganizationExtraKey = "accountmesh.io/organization"

// OrganizationOf returns the organisation whose identity provider authenticated u, and false
// for users of any other authenticator. More than one value names no organisation at all.
func OrganizationOf(u user.Info) (cluster.ID, bool) {
	if u == nil {
		return "", false
	}
	v := u.GetExtra()[OrganizationExtraKey]
	switch len(v) {
	case 0:
		return "", false
	case 1:
		return cluster.ID(v[0]), true
	}
	return cluster.Unknown, true
}

// OutsideAccountError is the error of a credential that is valid, but not in the account of the
// request: a ServiceAccount token of another account, an organisation's token outside the
// organisation. It goes to the server log only: to a caller, such a credential must read like an
// unknown one, so that it reveals nothing of the account it belongs to (TokenReview leaves these
// errors out of its answer).
type OutsideAccountError struct {
	// Reason says, for the log, which kind of credential it was.
	Reason string
}

func (e *OutsideAccountError) Error() string { return e.Reason }

// IsOutsideAccount reports whether err is, or wraps, an OutsideAccountError.
func IsOutsideAccount(err error) bool {
	var outside *OutsideAccountError
	return errors.As(err, &outside)
}

// ConfinedTo returns the account u is confined to, and false if u is not confined.
func ConfinedTo(u user.Info) (cluster.ID, bool) {
	if u == nil {
		return "", false
	}
	v := u.GetExtra()[AccountExtraKey]
	if len(v) == 0 {
		return "", false
	}
	// More than one value confines to no account at all.
	if len(v) > 1 {
		return cluster.Unknown, true
	}
	return cluster.ID(v[0]), true
}

// Confine returns u confined to account id: a copy with AccountExtraKey set to id.
func Confine(u user.Info, id cluster.ID) user.Info {
	extra := make(map[string][]string, len(u.GetExtra())+1)
	for k, v := range u.GetExtra() {
		extra[k] = v
	}
	extra[AccountExtraKey] = []string{string(id)}
	return &user.DefaultInfo{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: extra}
}

// IsReservedGroup reports whether only the server may add group to a user.
func IsReservedGroup(group string) bool { return strings.HasPrefix(group, ReservedGroupPrefix) }

// IsReservedExtra reports whether only the server may set the user extra key.
func IsReservedExtra(key string) bool { return strings.EqualFold(key, AccountExtraKey) }

// AccountGroup is the group of the users acting in the account path, in the bind check.
func AccountGroup(path string) string { return ReservedGroupPrefix + "account:" + path }

// SubtreeGroups are the groups of the users acting in the account path, in the bind check: one
// per path from root down to the account itself, each naming a subtree the account is in.
func SubtreeGroups(path string) []string {
	parts := strings.Split(path, cluster.PathSeparator)
	groups := make([]string, 0, len(parts))
	for i := range parts {
		groups = append(groups, ReservedGroupPrefix+"subtree:"+strings.Join(parts[:i+1], cluster.PathSeparator))
	}
	return groups
}

// WithoutReservedGroups returns an authenticator that drops the reserved groups and user extras
// from the users that a authenticates, whichever authenticator vouched for them: static
// tokens, certificates and platform OIDC without a groups prefix (or with claim mappings to
// extras) could otherwise claim them.
func WithoutReservedGroups(a authenticator.Request) authenticator.Request {
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		resp, ok, err := a.AuthenticateRequest(req)
		if !ok || err != nil || resp == nil || resp.User == nil {
			return resp, ok, err
		}
		u := resp.User
		groups, extra := u.GetGroups(), u.GetExtra()
		reservedExtra := false
		for k := range extra {
			reservedExtra = reservedExtra || IsReservedExtra(k)
		}
		if !slices.ContainsFunc(groups, IsReservedGroup) && !reservedExtra {
			return resp, ok, err
		}
		if reservedExtra {
			extra = make(map[string][]string, len(u.GetExtra()))
			for k, v := range u.GetExtra() {
				if !IsReservedExtra(k) {
					extra[k] = v
				}
			}
		}
		out := *resp
		out.User = &user.DefaultInfo{
			Name:   u.GetName(),
			UID:    u.GetUID(),
			Groups: slices.DeleteFunc(slices.Clone(groups), IsReservedGroup),
			Extra:  extra,
		}
		return &out, ok, err
	})
}

// IsServer reports whether u is the server itself: its in-process controllers, with the
// loopback credentials only the server holds (system:apiserver in system:masters, which no one
// but system:masters may impersonate).
func IsServer(u user.Info) bool {
	return u != nil && u.GetName() == user.APIServerUser && slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup)
}
