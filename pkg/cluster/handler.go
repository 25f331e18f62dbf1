package cluster

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
)

// URLPrefix is the path prefix under which every account is served.
const URLPrefix = "/clusters/"

// Resolver resolves an account path or cluster ID to a cluster ID.
type Resolver interface {
	Resolve(pathOrID string) (ID, bool)
}

// WithClusterHandler returns the outer handler: it resolves /clusters/<path|id>/... to a cluster ID in
// the request context and strips the prefix, so the upstream chain sees an ordinary request.
// Unknown accounts get 404, writes to the wildcard 405, and resource requests without an
// account a 404 that says how to address one. Other top-level paths (health, metrics, version,
// OpenAPI) pass through unchanged.
func WithClusterHandler(next http.Handler, resolver Resolver, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fail := func(err error) {
			responsewriters.ErrorNegotiated(err, s, schema.GroupVersion{Version: "v1"}, w, req)
		}
		path := req.URL.Path
		if !strings.HasPrefix(path, URLPrefix) {
			if isResourcePath(path) {
				fail(notFound("resource requests must name an account: use " + URLPrefix + "<account-path>" + path + ", e.g. " + URLPrefix + RootPath + path))
				return
			}
			next.ServeHTTP(w, req)
			return
		}
		rest := strings.TrimPrefix(path, URLPrefix)
		name, remainder, _ := strings.Cut(rest, "/")
		var id ID
		switch {
		case name == string(Wildcard):
			if req.Method != http.MethodGet {
				fail(apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "clusters/*"}, strings.ToLower(req.Method)))
				return
			}
			id = Wildcard
		default:
			resolved, ok := resolver.Resolve(name)
			if !ok {
				fail(notFound(fmt.Sprintf("account %q not found", name)))
				return
			}
			id = resolved
		}
		r := req.Clone(WithCluster(req.Context(), id))
		r.URL.Path = "/" + remainder
		r.URL.RawPath = ""
		r.RequestURI = r.URL.RequestURI()
		next.ServeHTTP(w, r)
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

func notFound(msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Message: msg,
	}}
}
