package openapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	openapibuilder "k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/dynamic"
	generatedopenapi "github.com/accountmesh/accountmesh/pkg/generated/openapi"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

const (
	jsonAccept  = "application/json"
	protoAccept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// staticV2 is a built-in document like the generic server's: every generated definition, and
// one path.
func staticV2(t testing.TB) *spec.Swagger {
	t.Helper()
	namer := openapinamer.NewDefinitionNamer(scheme.Scheme)
	cfg := &common.Config{
		Info:              &spec.Info{InfoProps: spec.InfoProps{Title: "test", Version: "v1"}},
		GetDefinitions:    generatedopenapi.Definitions,
		GetDefinitionName: namer.GetDefinitionName,
	}
	var names []string
	for name := range generatedopenapi.Definitions(func(string) spec.Ref { return spec.Ref{} }) {
		names = append(names, name)
	}
	s, err := openapibuilder.BuildOpenAPIDefinitionsForResources(cfg, names...)
	require.NoError(t, err)
	s.Definitions = handler.PruneDefaults(s.Definitions)
	s.Paths = &spec.Paths{Paths: map[string]spec.PathItem{"/api/": {}}}
	return s
}

// testCRD returns a namespaced CRD of kind in group with the given versions, served or not, each
// with a spec field named after the version.
func testCRD(group, kind string, versions map[string]bool) *apiextensionsv1.CustomResourceDefinition {
	plural := strings.ToLower(kind) + "s"
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List", Singular: plural[:len(plural)-1]},
		},
	}
	crd.Status.AcceptedNames = crd.Spec.Names
	storage := true
	for _, v := range []string{"v1", "v2", "v3"} {
		served, ok := versions[v]
		if !ok {
			continue
		}
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: served, Storage: storage,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"field" + v: {Type: "string", Description: "Field of " + v + "."},
					}},
				},
			}},
		})
		storage = false
	}
	return crd
}

// entrySource serves fixed CRDs per account; the key names the CRDs.
type entrySource map[cluster.ID][]*apiextensionsv1.CustomResourceDefinition

func (s entrySource) APISet(id cluster.ID) (string, []*dynamic.Entry) {
	var key string
	var entries []*dynamic.Entry
	for _, crd := range s[id] {
		key += crd.Name + fmt.Sprint(len(crd.Spec.Versions)) + ","
		entries = append(entries, &dynamic.Entry{CRD: crd, Identity: crd.Name})
	}
	return key, entries
}

// get serves GET /openapi/v2 in account id.
func get(t testing.TB, h http.Handler, id cluster.ID, accept, etag string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, v2Path, nil)
	if id != "" {
		req = req.WithContext(cluster.WithCluster(req.Context(), id))
	}
	req.Header.Set("Accept", accept)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decode returns the definitions of a JSON v2 document and its paths.
func decode(t testing.TB, rec *httptest.ResponseRecorder) (defs map[string]json.RawMessage, paths []string) {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var doc struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
		Paths       map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	return doc.Definitions, slices.Sorted(maps.Keys(doc.Paths))
}

// names returns the sorted names of definitions.
func names(defs map[string]json.RawMessage) []string {
	return slices.Sorted(maps.Keys(defs))
}

func TestV2(t *testing.T) {
	t.Parallel()
	static := staticV2(t)
	widget := testCRD("example.com", "Widget", map[string]bool{"v1": true, "v2": false})
	gadget := testCRD("other.example.com", "Gadget", map[string]bool{"v1": true, "v2": true})
	src := entrySource{"a": {widget}, "a2": {widget}, "b": {gadget}}
	o := New()
	o.Source = src
	o.StaticV2 = func() *spec.Swagger { return static }
	builtin := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("builtin")) })
	h := o.Wrap(builtin)

	defs, paths := decode(t, get(t, h, "a", jsonAccept, ""))
	require.Contains(t, names(defs), "com.example.v1.Widget")
	require.Contains(t, names(defs), "com.example.v1.WidgetList")
	require.Contains(t, string(defs["com.example.v1.Widget"]), "Field of v1.")
	require.NotContains(t, names(defs), "com.example.v2.Widget", "an unserved version is absent")
	require.Contains(t, paths, "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}")
	require.NotContains(t, paths, "/apis/example.com/v2/namespaces/{namespace}/widgets/{name}")
	require.Contains(t, paths, "/api/", "the built-in document is kept")
	require.Contains(t, names(defs), "io.k8s.api.core.v1.ConfigMap")
	for name := range defs {
		require.NotContains(t, name, "Gadget", "account a never sees account b's definitions")
	}

	defs, paths = decode(t, get(t, h, "b", jsonAccept, ""))
	require.Contains(t, names(defs), "com.example.other.v1.Gadget")
	require.Contains(t, names(defs), "com.example.other.v2.Gadget")
	require.Contains(t, paths, "/apis/other.example.com/v2/namespaces/{namespace}/gadgets")
	require.NotContains(t, names(defs), "com.example.v1.Widget", "account b never sees account a's definitions")

	require.Equal(t, "builtin", get(t, h, "none", jsonAccept, "").Body.String(), "an account without custom resources gets the built-in document")
	require.Equal(t, "builtin", get(t, h, "", jsonAccept, "").Body.String(), "a request outside accounts gets the built-in document")

	// Caching: one document per set, with an ETag that revalidates.
	first := get(t, h, "a", jsonAccept, "")
	etag := first.Header().Get("Etag")
	require.NotEmpty(t, etag)
	require.Equal(t, etag, get(t, h, "a2", jsonAccept, "").Header().Get("Etag"), "accounts with the same set share the document")
	req := httptest.NewRequest(http.MethodGet, v2Path, nil)
	_, ok, err := o.v2Sets.ForRequest(req.WithContext(cluster.WithCluster(req.Context(), "a2")), src, func(context.Context, []*dynamic.Entry) (http.Handler, error) {
		t.Fatal("the document of a set was built again")
		return nil, nil
	})
	require.NoError(t, err)
	require.True(t, ok)
	require.NotEqual(t, etag, get(t, h, "b", jsonAccept, "").Header().Get("Etag"))
	require.Equal(t, http.StatusNotModified, get(t, h, "a2", jsonAccept, etag).Code)
	require.Equal(t, http.StatusOK, get(t, h, "b", jsonAccept, etag).Code, "another set's ETag does not revalidate")

	// Protobuf, as kubectl and client-go ask for it.
	rec := get(t, h, "a", protoAccept, "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", rec.Header().Get("Content-Type"))
	var doc openapi_v2.Document
	require.NoError(t, proto.Unmarshal(rec.Body.Bytes(), &doc))
	var found bool
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		found = found || d.GetName() == "com.example.v1.Widget"
	}
	require.True(t, found, "the protobuf document has the CRD's definition")
	for _, accept := range []string{"application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "text/html, " + protoAccept + ";q=0.5"} {
		rec := get(t, h, "a", accept, "")
		require.Equal(t, http.StatusOK, rec.Code, accept)
		require.Equal(t, doc.String(), func() string {
			var d openapi_v2.Document
			require.NoError(t, proto.Unmarshal(rec.Body.Bytes(), &d))
			return d.String()
		}(), accept)
	}
	require.Equal(t, "application/json", get(t, h, "a", "*/*", "").Header().Get("Content-Type"))
	require.Equal(t, "application/json", get(t, h, "a", "", "").Header().Get("Content-Type"))

	rec = get(t, h, "a", "text/html", "")
	require.Equal(t, http.StatusNotAcceptable, rec.Code)
	require.Contains(t, rec.Body.String(), `"kind": "Status"`)

	// Gzip for clients that accept it, as the built-in document.
	req = httptest.NewRequest(http.MethodGet, v2Path, nil)
	req = req.WithContext(cluster.WithCluster(req.Context(), "a"))
	req.Header.Set("Accept-Encoding", "gzip")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, first.Body.String(), string(unzipped))
}

func TestV2CannotClaimBuiltinKinds(t *testing.T) {
	t.Parallel()
	static := staticV2(t)
	shadow := testCRD("core.api.k8s.io", "ConfigMap", map[string]bool{"v1": true})
	o := New()
	o.Source = entrySource{"a": {shadow}}
	o.StaticV2 = func() *spec.Swagger { return static }
	defs, _ := decode(t, get(t, o.Wrap(http.NotFoundHandler()), "a", jsonAccept, ""))
	builtin, err := json.Marshal(static.Definitions["io.k8s.api.core.v1.ConfigMap"])
	require.NoError(t, err)
	require.JSONEq(t, string(builtin), string(defs["io.k8s.api.core.v1.ConfigMap"]), "the built-in definition stays")
	var claims []string
	for name, d := range defs {
		var def struct {
			GVK []map[string]string `json:"x-kubernetes-group-version-kind"`
		}
		require.NoError(t, json.Unmarshal(d, &def))
		for _, gvk := range def.GVK {
			if gvk["group"] == "" && gvk["kind"] == "ConfigMap" && gvk["version"] == "v1" {
				claims = append(claims, name)
			}
		}
	}
	require.Equal(t, []string{"io.k8s.api.core.v1.ConfigMap"}, claims, "only the built-in definition is the built-in kind")
	require.Contains(t, string(defs["io.k8s.api.core.v1.ConfigMap_v2"]), `{"group":"core.api.k8s.io","kind":"ConfigMap","version":"v1"}`)
}

func TestV2WithoutStaticDocument(t *testing.T) {
	t.Parallel()
	o := New()
	o.Source = entrySource{"a": {testCRD("example.com", "Widget", map[string]bool{"v1": true})}}
	o.StaticV2 = func() *spec.Swagger { return nil }
	h := o.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("builtin")) }))
	require.Equal(t, "builtin", get(t, h, "a", jsonAccept, "").Body.String(), "before the server is prepared, the generic server answers")
}

// BenchmarkV2 measures an account's first OpenAPI v2 document (build, then render JSON and
// protobuf, as the first JSON and protobuf requests do) and a cached request, for N CRDs.
func BenchmarkV2(b *testing.B) {
	static := staticV2(b)
	for _, n := range []int{1, 10, 100} {
		var crds []*apiextensionsv1.CustomResourceDefinition
		for i := range n {
			crds = append(crds, testCRD(fmt.Sprintf("g%d.example.com", i), "Widget", map[string]bool{"v1": true, "v2": true}))
		}
		src := entrySource{"a": crds}
		b.Run(fmt.Sprintf("crds=%d/first", n), func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				o := New()
				o.Source, o.StaticV2 = src, func() *spec.Swagger { return static }
				h := o.Wrap(http.NotFoundHandler())
				size = get(b, h, "a", jsonAccept, "").Body.Len()
				get(b, h, "a", protoAccept, "")
			}
			b.ReportMetric(float64(size), "json-bytes")
		})
		b.Run(fmt.Sprintf("crds=%d/cached", n), func(b *testing.B) {
			b.ReportAllocs()
			o := New()
			o.Source, o.StaticV2 = src, func() *spec.Swagger { return static }
			h := o.Wrap(http.NotFoundHandler())
			get(b, h, "a", protoAccept, "")
			req := httptest.NewRequest(http.MethodGet, v2Path, nil)
			req = req.WithContext(cluster.WithCluster(req.Context(), "a"))
			req.Header.Set("Accept", protoAccept)
			for b.Loop() {
				h.ServeHTTP(&discard{header: http.Header{}}, req)
			}
		})
		b.Run(fmt.Sprintf("crds=%d/not-modified", n), func(b *testing.B) {
			b.ReportAllocs()
			o := New()
			o.Source, o.StaticV2 = src, func() *spec.Swagger { return static }
			h := o.Wrap(http.NotFoundHandler())
			etag := get(b, h, "a", protoAccept, "").Header().Get("Etag")
			for b.Loop() {
				if rec := get(b, h, "a", protoAccept, etag); rec.Code != http.StatusNotModified {
					b.Fatalf("got %d, want 304", rec.Code)
				}
			}
		})
	}
}

// discard is a ResponseWriter that drops the body, so that a benchmark measures serving rather
// than copying the document into a recorder.
type discard struct {
	header http.Header
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
