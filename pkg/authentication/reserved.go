package authentication

import (
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

// WithoutReservedGroups returns an authenticator that drops the reserved groups from the users
// that a authenticates, whichever authenticator vouched for them: static tokens, certificates
// and platform OIDC without a groups prefix could otherwise claim them.
func WithoutReservedGroups(a authenticator.Request) authenticator.Request {
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		resp, ok, err := a.AuthenticateRequest(req)
		if !ok || err != nil || resp == nil || resp.User == nil {
			return resp, ok, err
		}
		groups := resp.User.GetGroups()
		if !slices.ContainsFunc(groups, isReserved) {
			return resp, ok, err
		}
		u := resp.User
		out := *resp
		out.User = &user.DefaultInfo{
			Name:   u.GetName(),
			UID:    u.GetUID(),
			Groups: slices.DeleteFunc(slices.Clone(groups), isReserved),
			Extra:  u.GetExtra(),
		}
		return &out, ok, err
	})
}

func isReserved(group string) bool { return strings.HasPrefix(group, ReservedGroupPrefix) }
