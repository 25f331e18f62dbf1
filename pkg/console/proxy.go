package console

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// maxBodyBytes bounds a proxied request body, as the API server bounds its own.
const maxBodyBytes = 3 << 20

// acceptable are the Accept headers the proxy passes on; any other asks for JSON.
var acceptable = map[string]bool{
	"application/json": true,
	"application/json;as=Table;v=v1;g=meta.k8s.io,application/json":                         true,
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json": true,
	"application/yaml": true,
}

// contentTypes are the request bodies the proxy passes on.
var contentTypes = map[string]bool{
	"application/json":                       true,
	"application/merge-patch+json":           true,
	"application/json-patch+json":            true,
	"application/strategic-merge-patch+json": true,
	"application/apply-patch+yaml":           true,
	"application/yaml":                       true,
}

// serveProxy replays /console/api/clusters/<account>/... through the API as the session's
// user, as a fresh request that carries the method, the path, the query, the body, an
// allow-listed Accept and Content-Type and the user's token, nothing else of the browser's
// request. A 401 from the API ends the session.
func (c *Console) serveProxy(w http.ResponseWriter, req *http.Request) {
	x, id, err := c.session(req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	if !x.validCSRF(req.Header.Get(csrfHeader)) {
		writeStatus(w, apierrors.NewForbidden(schema.GroupResource{Resource: "console"}, "", fmt.Errorf("missing or wrong CSRF token")))
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		if err := checkOrigin(req); err != nil {
			writeStatus(w, err)
			return
		}
	}
	target, account, err := proxyTarget(req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	ct := req.Header.Get("Content-Type")
	if ct != "" && !contentTypes[strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))] {
		writeStatus(w, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType, Message: "the console does not pass on request bodies of type " + ct}})
		return
	}
	var body io.ReadCloser = http.NoBody
	if req.Body != nil && req.ContentLength != 0 {
		body = http.MaxBytesReader(w, req.Body, maxBodyBytes)
	}
	r, err := http.NewRequestWithContext(req.Context(), req.Method, target, body)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("the request cannot be proxied"))
		return
	}
	r.Host = req.Host
	r.RemoteAddr = req.RemoteAddr
	r.RequestURI = target
	r.ContentLength = req.ContentLength
	accept := req.Header.Get("Accept")
	if !acceptable[strings.ReplaceAll(accept, " ", "")] {
		accept = "application/json"
	}
	r.Header.Set("Accept", accept)
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	r.Header.Set("Authorization", "Bearer "+x.token)
	// The API's answers are data for the pages, never a document of the console's origin.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
	// The token was accepted in the sign-in account: a 401 there means it is no longer valid,
	// and ends the session. Elsewhere (a ServiceAccount token outside its account, an
	// organisation's token outside the organisation) it only means no access there.
	sw := &statusWriter{ResponseWriter: w, foreign: account != x.account}
	c.api.ServeHTTP(sw, r)
	if sw.code == http.StatusUnauthorized && !sw.foreign {
		c.sessions.remove(id)
	}
}

// proxyTarget returns the API request URI of a console API request, /clusters/<account>/...
// with the request's query, and the account as the URL names it. Anything else, and any path
// that is not already clean (dot segments, double or back slashes) or that encodes a slash, a
// dot, a percent sign or NUL, is 404: the proxy reaches accounts' APIs only, never other paths
// of the server.
func proxyTarget(req *http.Request) (string, string, error) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "console"}, "api")
	escaped := strings.TrimPrefix(req.URL.EscapedPath(), Prefix+"api")
	decoded := strings.TrimPrefix(req.URL.Path, Prefix+"api")
	lower := strings.ToLower(escaped)
	for _, bad := range []string{"%2f", "%5c", "%2e", "%25", "%00", "\\"} {
		if strings.Contains(lower, bad) {
			return "", "", notFound
		}
	}
	if path.Clean(decoded) != decoded || !strings.HasPrefix(decoded, cluster.URLPrefix) {
		return "", "", notFound
	}
	account, _, _ := strings.Cut(strings.TrimPrefix(decoded, cluster.URLPrefix), "/")
	if !validAccountName(account) {
		return "", "", notFound
	}
	if req.URL.RawQuery != "" {
		return escaped + "?" + req.URL.RawQuery, account, nil
	}
	return escaped, account, nil
}

// statusWriter notes the status the API answered; it passes flushes and close notifications
// on, so watches stream.
// With foreign, a 401 is answered as the 403 of an account the user has no access to.
type statusWriter struct {
	http.ResponseWriter
	code    int
	foreign bool
	// replaced is set once the API's answer was replaced: the rest of it is dropped.
	replaced bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code != 0 {
		return
	}
	s.code = code
	if code == http.StatusUnauthorized && s.foreign {
		s.replaced = true
		s.ResponseWriter.Header().Del("WWW-Authenticate")
		writeStatus(s.ResponseWriter, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("you have no access here")))
		return
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if s.replaced {
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// CloseNotify implements http.CloseNotifier, which upstream's response writer decorators
// require of the writer they wrap before they pass Flush on (without it, watches fail).
func (s *statusWriter) CloseNotify() <-chan bool {
	if cn, ok := s.ResponseWriter.(http.CloseNotifier); ok { //nolint:staticcheck // see above
		return cn.CloseNotify()
	}
	return make(chan bool)
}
