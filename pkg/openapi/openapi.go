// Package openapi serves per-account OpenAPI: /openapi/v3 lists the built-in group versions
// plus those of the account's custom resources, and /openapi/v3/apis/<group>/<version> of a
// custom group serves the schemas of the account's CRDs in it; /openapi/v2 is the built-in
// document merged with the definitions and paths of the served versions of the account's CRDs
// and bound resources, as kube-apiserver publishes CRDs. Everything else, and every account
// without custom resources, gets the generic server's documents.
//
// Documents are built once per API set (pkg/dynamic's key of what an account serves) and
// shared by the accounts with the same set; documents of other sets are never consulted, so an
// account learns nothing of another's custom resources. It only reads the dynamic index; it
// must not decide what is served.
package openapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/dynamic"
)

const (
	rootPath  = "/openapi/v3"
	groupPath = "/openapi/v3/apis/"
)

// OpenAPI serves per-account OpenAPI v3 and v2. Make it with New; set Source and StaticV2
// before serving.
type OpenAPI struct {
	Source dynamic.APISetSource
	// StaticV2 returns the generic server's OpenAPI v2 document of the built-in APIs, nil
	// before the server is prepared to run; then /openapi/v2 is the generic server's.
	StaticV2 func() *spec.Swagger

	sets   dynamic.APISetCache[*apiSet]
	v2Sets dynamic.APISetCache[http.Handler]
}

// New returns an OpenAPI without sources.
func New() *OpenAPI {
	return &OpenAPI{v2Sets: dynamic.APISetCache[http.Handler]{Max: maxV2Sets}}
}

// apiSet is the OpenAPI service of one API set and its group versions.
type apiSet struct {
	service *handler3.OpenAPIService
	// groupVersions are the served "apis/<group>/<version>" paths.
	groupVersions map[string]bool
}

// Wrap serves the per-account documents and passes everything else to h.
func (o *OpenAPI) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if req.Method == http.MethodGet && p == v2Path {
			o.serveV2(w, req, h)
			return
		}
		if req.Method != http.MethodGet || (p != rootPath && !strings.HasPrefix(p, groupPath)) {
			h.ServeHTTP(w, req)
			return
		}
		set, ok, err := o.sets.ForRequest(req, o.Source, build)
		switch {
		case err != nil:
			responsewriters.InternalError(w, req, err)
		case !ok:
			h.ServeHTTP(w, req)
		case p == rootPath:
			o.serveRoot(w, req, h, set)
		case !set.groupVersions[strings.TrimPrefix(p, "/openapi/v3/")]:
			h.ServeHTTP(w, req)
		default:
			// A stale hash redirects to the current document: keep the account in the URL.
			id, _ := cluster.FromContext(req.Context())
			set.service.HandleGroupVersion(&locationPrefixer{ResponseWriter: w, prefix: cluster.URLPrefix + string(id)}, req)
		}
	})
}

// serveRoot merges the built-in group versions with the set's. The merged document has an ETag
// of its own: clients revalidate with the ETag they were given, which the built-in handler
// must not see.
func (o *OpenAPI) serveRoot(w http.ResponseWriter, req *http.Request, builtin http.Handler, set *apiSet) {
	rec := httptest.NewRecorder()
	inner := req.Clone(req.Context())
	inner.Header.Del("If-None-Match")
	inner.Header.Del("If-Modified-Since")
	builtin.ServeHTTP(rec, inner)
	var doc handler3.OpenAPIV3Discovery
	if rec.Code != http.StatusOK || json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&doc) != nil {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	rec = httptest.NewRecorder()
	set.service.HandleDiscovery(rec, req)
	var custom handler3.OpenAPIV3Discovery
	if err := json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&custom); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if doc.Paths == nil {
		doc.Paths = map[string]handler3.OpenAPIV3DiscoveryGroupVersion{}
	}
	for k, v := range custom.Paths {
		doc.Paths[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	etag := etagOf(b)
	w.Header().Set("Etag", etag)
	w.Header().Set("Vary", "Accept")
	if req.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// etagOf returns the quoted ETag of a document.
func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return strconv.Quote(hex.EncodeToString(sum[:]))
}

// build makes the OpenAPI documents of the CRDs, one per group version.
func build(_ context.Context, entries []*dynamic.Entry) (*apiSet, error) {
	specs := map[string][]*spec3.OpenAPI{}
	for _, e := range entries {
		for _, v := range e.CRD.Spec.Versions {
			if !v.Served {
				continue
			}
			spec, err := builder.BuildOpenAPIV3(e.CRD, v.Name, builder.Options{IncludeSelectableFields: true})
			if err != nil {
				return nil, fmt.Errorf("failed to build the OpenAPI schema of %s %s: %w", e.CRD.Name, v.Name, err)
			}
			gv := "apis/" + e.CRD.Spec.Group + "/" + v.Name
			specs[gv] = append(specs[gv], spec)
		}
	}
	s := &apiSet{service: handler3.NewOpenAPIService(), groupVersions: map[string]bool{}}
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, gv := range keys {
		merged, err := builder.MergeSpecsV3(specs[gv]...)
		if err != nil {
			return nil, fmt.Errorf("failed to merge the OpenAPI schemas of %s: %w", gv, err)
		}
		s.service.UpdateGroupVersion(gv, merged)
		s.groupVersions[gv] = true
	}
	return s, nil
}

// locationPrefixer puts the account's URL prefix in front of redirect locations.
type locationPrefixer struct {
	http.ResponseWriter
	prefix string
}

// WriteHeader implements http.ResponseWriter.
func (l *locationPrefixer) WriteHeader(code int) {
	if loc := l.Header().Get("Location"); strings.HasPrefix(loc, "/") {
		l.Header().Set("Location", l.prefix+loc)
	}
	l.ResponseWriter.WriteHeader(code)
}
