package authentication

import (
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// WithUnknownAccounts authenticates requests for accounts that do not resolve before next (the
// cluster handler) answers them with 404, and answers failures with the same 401 the
// authentication filter gives for existing accounts. A token confined to some accounts (an
// organisation's, a ServiceAccount's) therefore gets the same answer for an account that does
// not exist as for one outside its reach.
func WithUnknownAccounts(next http.Handler, resolver cluster.Resolver, auth authenticator.Request, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, ok := strings.CutPrefix(req.URL.Path, cluster.URLPrefix)
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		name, _, _ := strings.Cut(rest, "/")
		if name == string(cluster.Wildcard) {
			next.ServeHTTP(w, req)
			return
		}
		if _, ok := resolver.Resolve(name); ok {
			next.ServeHTTP(w, req)
			return
		}
		if _, ok, _ := auth.AuthenticateRequest(req); !ok {
			responsewriters.ErrorNegotiated(apierrors.NewUnauthorized("Unauthorized"), s, schema.GroupVersion{Version: "v1"}, w, req)
			return
		}
		next.ServeHTTP(w, req)
	})
}
