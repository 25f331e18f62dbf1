package filters

import (
	"context"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// WithClusterHandler returns the outer handler: it resolves /clusters/<path|id>/... to a cluster
// ID in the request context and strips the prefix, so the upstream chain sees an ordinary
// request. Writes to the wildcard get 405, and resource requests without an account a 404 that
// says how to address one. Other top-level paths (health, metrics, version, OpenAPI) pass
// through unchanged. An unknown account is not refused here: the request carries the
// cluster.Unknown cluster through authentication and authorization, so callers who may not see it get the very 403 that
// an existing account they cannot reach gives; WithUnknownAccountNotFound answers 404 to the
// others once they are authorized.
func WithClusterHandler(next http.Handler, resolver cluster.Resolver, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fail := func(err error) {
			responsewriters.ErrorNegotiated(err, s, schema.GroupVersion{Version: "v1"}, w, req)
		}
		path := req.URL.Path
		if !strings.HasPrefix(path, cluster.URLPrefix) {
			if isResourcePath(path) {
				fail(cluster.NotFound("resource requests must name an account: use " + cluster.URLPrefix + "<account-path>" + path + ", e.g. " + cluster.URLPrefix + cluster.RootPath + path))
				return
			}
			next.ServeHTTP(w, req)
			return
		}
		rest := strings.TrimPrefix(path, cluster.URLPrefix)
		name, remainder, _ := strings.Cut(rest, "/")
		var id cluster.ID
		switch {
		case name == string(cluster.Wildcard):
			if req.Method != http.MethodGet {
				fail(apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "clusters/*"}, strings.ToLower(req.Method)))
				return
			}
			id = cluster.Wildcard
		default:
			resolved, ok := resolver.Resolve(name)
			if !ok {
				resolved = cluster.Unknown
			}
			id = resolved
		}
		ctx := cluster.WithCluster(req.Context(), id)
		if id == cluster.Unknown {
			ctx = context.WithValue(ctx, unknownNameKey{}, name)
		}
		r := req.Clone(ctx)
		r.URL.Path = "/" + remainder
		r.URL.RawPath = ""
		r.RequestURI = r.URL.RequestURI()
		next.ServeHTTP(w, r)
	})
}

type unknownNameKey struct{}

// WithUnknownAccountNotFound answers 404 to authorized requests for an unknown account. It
// belongs after authorization in the handler chain, in front of the API handlers.
func WithUnknownAccountNotFound(next http.Handler, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if id, ok := cluster.FromContext(req.Context()); !ok || id != cluster.Unknown {
			next.ServeHTTP(w, req)
			return
		}
		name, _ := req.Context().Value(unknownNameKey{}).(string)
		responsewriters.ErrorNegotiated(cluster.AccountNotFound(name), s, schema.GroupVersion{Version: "v1"}, w, req)
	})
}

// isResourcePath reports whether path addresses the API (discovery or resources), which is
// only served inside an account.
func isResourcePath(path string) bool {
	for _, p := range []string{"/api", "/apis"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}
