package filters

import (
	"net/http"
	"slices"
	"strings"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// WithPlatformGroups serves the API groups named in groups from the root account whichever
// account a request names: their objects configure the platform, not an account. Authorization
// then happens in the root account, so only those who may change the root may change them.
// Requests to unknown accounts are left as they are, to get the same 404 as any other.
func WithPlatformGroups(next http.Handler, root cluster.ID, groups ...string) http.Handler {
	prefixes := make([]string, 0, len(groups))
	for _, g := range groups {
		prefixes = append(prefixes, "/apis/"+g+"/")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id, ok := cluster.FromContext(req.Context())
		platform := slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(req.URL.Path, p) })
		if !ok || id == root || id == cluster.Unknown || !platform {
			next.ServeHTTP(w, req)
			return
		}
		next.ServeHTTP(w, req.WithContext(cluster.WithCluster(req.Context(), root)))
	})
}
