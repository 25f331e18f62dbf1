package server

import (
	"net/http"
	"strings"
)

// withUnauthenticatedProbes serves the health endpoints without authentication, as probes of
// a control plane expect, and everything else through the full handler chain.
func withUnauthenticatedProbes(chain, apiHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for _, p := range []string{"/readyz", "/livez", "/healthz"} {
			if req.URL.Path == p || strings.HasPrefix(req.URL.Path, p+"/") {
				apiHandler.ServeHTTP(w, req)
				return
			}
		}
		chain.ServeHTTP(w, req)
	})
}
