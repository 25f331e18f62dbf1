package authentication

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

type impersonationKey struct{}

// impersonation is what a request's context knows of its impersonation: the user who asks for
// it, once authenticated.
type impersonation struct {
	by user.Info
}

// WithImpersonationRequested refuses requests that ask to impersonate a reserved group or user
// extra, which only the server hands out, and notes in the context of the others whether they
// ask to impersonate anyone. It belongs in front of authentication: upstream's impersonation
// filter may remove the headers once it has switched the user, and its checks of many groups
// at once ask about all groups ("*"), never naming the reserved ones.
func WithImpersonationRequested(next http.Handler, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !impersonates(req.Header) {
			next.ServeHTTP(w, req)
			return
		}
		if err := reservedImpersonation(req.Header); err != nil {
			responsewriters.ErrorNegotiated(err, s, schema.GroupVersion{Version: "v1"}, w, req)
			return
		}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), impersonationKey{}, &impersonation{})))
	})
}

// reservedImpersonation returns a Forbidden error if h asks to impersonate a reserved group or
// user extra.
func reservedImpersonation(h http.Header) error {
	for _, g := range h.Values(authenticationv1.ImpersonateGroupHeader) {
		if IsReservedGroup(g) {
			return apierrors.NewForbidden(authenticationv1.Resource("groups"), g,
				fmt.Errorf("groups starting with %q are reserved to Account Mesh and cannot be impersonated", ReservedGroupPrefix))
		}
	}
	for name := range h {
		encoded, ok := strings.CutPrefix(name, authenticationv1.ImpersonateUserExtraHeaderPrefix)
		if !ok {
			continue
		}
		key, err := url.PathUnescape(encoded)
		if err != nil {
			key = encoded
		}
		if IsReservedExtra(key) {
			return apierrors.NewForbidden(authenticationv1.Resource("userextras"), strings.ToLower(key),
				errors.New("the user extra is reserved to Account Mesh and cannot be impersonated"))
		}
	}
	return nil
}

// WithImpersonator returns an authenticator that remembers, for requests that ask to
// impersonate, who asks (see WithImpersonationConfined).
func WithImpersonator(a authenticator.Request) authenticator.Request {
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		resp, ok, err := a.AuthenticateRequest(req)
		if i, requested := req.Context().Value(impersonationKey{}).(*impersonation); requested && ok && err == nil && resp != nil {
			i.by = resp.User
		}
		return resp, ok, err
	})
}

// WithImpersonationConfined confines an impersonated user to the account in which the
// impersonation was authorised (the request's account), so that checks made in other
// accounts on the user's behalf (binding an export, using an account type) grant nothing of
// theirs. Impersonation by an unconfined member of system:masters is authorised platform-wide
// and is not confined: that is how the platform's controllers act for users. It belongs after
// upstream's impersonation and authorization filters.
func WithImpersonationConfined(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := req.Context()
		if i, requested := ctx.Value(impersonationKey{}).(*impersonation); requested && !platformWide(i.by) {
			if u, ok := request.UserFrom(ctx); ok {
				id, ok := cluster.FromContext(ctx)
				if !ok {
					id = cluster.Unknown
				}
				req = req.WithContext(request.WithUser(ctx, Confine(u, id)))
			}
		}
		next.ServeHTTP(w, req)
	})
}

// platformWide reports whether u is privileged across the platform: in system:masters and
// confined to no account.
func platformWide(u user.Info) bool {
	if u == nil || !slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup) {
		return false
	}
	_, confined := ConfinedTo(u)
	return !confined
}

// impersonates reports whether h has any impersonation header.
func impersonates(h http.Header) bool {
	for name := range h {
		if name == authenticationv1.ImpersonateUserHeader || name == authenticationv1.ImpersonateGroupHeader ||
			name == authenticationv1.ImpersonateUIDHeader || strings.HasPrefix(name, authenticationv1.ImpersonateUserExtraHeaderPrefix) {
			return true
		}
	}
	return false
}
