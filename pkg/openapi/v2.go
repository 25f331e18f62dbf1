package openapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/NYTimes/gziphandler"
	"github.com/munnerz/goautoneg"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/accountmesh/accountmesh/pkg/dynamic"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

const (
	// v2Path is the OpenAPI v2 document, in JSON or protobuf.
	v2Path = "/openapi/v2"
	// maxV2Sets bounds the v2 documents kept. Each holds the built-in definitions too: about
	// 0.5 MiB of JSON and as much protobuf, more with many CRDs, where a v3 set holds only its
	// custom group versions.
	maxV2Sets = 16
)

// v2MediaTypes are the media types /openapi/v2 serves, as kube-apiserver does: JSON, and
// protobuf under its deprecated and its current name, answered with the current one.
var v2MediaTypes = []struct {
	subtype, contentType string
	proto                bool
}{
	{"json", "application/json", false},
	{"com.github.proto-openapi.spec.v2@v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", true},
	{"com.github.proto-openapi.spec.v2.v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", true},
}

// serveV2 serves the account's OpenAPI v2 document: the built-in one merged with its custom
// resources, built once per API set.
func (o *OpenAPI) serveV2(w http.ResponseWriter, req *http.Request, builtin http.Handler) {
	var static *spec.Swagger
	if o.StaticV2 != nil {
		static = o.StaticV2()
	}
	if static == nil {
		builtin.ServeHTTP(w, req)
		return
	}
	doc, ok, err := o.v2Sets.ForRequest(req, o.Source, func(_ context.Context, entries []*dynamic.Entry) (http.Handler, error) {
		return buildV2(static, entries)
	})
	switch {
	case err != nil:
		responsewriters.InternalError(w, req, err)
	case !ok:
		builtin.ServeHTTP(w, req)
	default:
		doc.ServeHTTP(w, req)
	}
}

// buildV2 merges the OpenAPI v2 documents of the CRDs' served versions into the built-in
// document, as apiextensions-apiserver does for a cluster, and renders the result. Responses
// are gzipped for clients that accept it, as the built-in document's are.
func buildV2(static *spec.Swagger, entries []*dynamic.Entry) (http.Handler, error) {
	var specs []*spec.Swagger
	for _, e := range entries {
		s, err := crdV2(e.CRD)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s...)
	}
	merged, err := builder.MergeSpecs(static, specs...)
	if err != nil {
		return nil, fmt.Errorf("failed to merge the OpenAPI v2 documents of the custom resources: %w", err)
	}
	b, err := merged.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("failed to encode the OpenAPI v2 document: %w", err)
	}
	return gziphandler.GzipHandler(&v2Document{json: b, etag: etagOf(b), modified: time.Now()}), nil
}

// crdV2 returns the OpenAPI v2 documents of a CRD's served versions, defaults pruned as in the
// built-in document.
func crdV2(crd *apiextensionsv1.CustomResourceDefinition) ([]*spec.Swagger, error) {
	var out []*spec.Swagger
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		s, err := builder.BuildOpenAPIV2(crd, v.Name, builder.Options{V2: true, IncludeSelectableFields: true})
		if err != nil {
			return nil, fmt.Errorf("failed to build the OpenAPI v2 schema of %s %s: %w", crd.Name, v.Name, err)
		}
		for _, kind := range []string{crd.Spec.Names.Kind, crd.Spec.Names.ListKind} {
			if kind == "" {
				continue
			}
			if err := setGVK(s.Definitions, schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: kind}); err != nil {
				return nil, fmt.Errorf("failed to build the OpenAPI v2 schema of %s %s: %w", crd.Name, v.Name, err)
			}
		}
		s.Definitions = handler.PruneDefaults(s.Definitions)
		out = append(out, s)
	}
	return out, nil
}

// setGVK makes the definition of a custom resource's kind name its own group, version and kind.
// The builder names the definition after the reversed group, the version and the kind, and
// takes its x-kubernetes-group-version-kind from a built-in type of that name when there is
// one: a CRD of group core.api.k8s.io and kind ConfigMap would otherwise claim to be the
// built-in ConfigMap, and kubectl would explain and validate ConfigMaps with its schema in every
// account that has the CRD or binds an export of it.
func setGVK(defs spec.Definitions, gvk schema.GroupVersionKind) error {
	group := strings.Split(gvk.Group, ".")
	slices.Reverse(group)
	name := strings.Join(group, ".") + "." + gvk.Version + "." + gvk.Kind
	d, ok := defs[name]
	if !ok {
		return fmt.Errorf("no definition %s", name)
	}
	d.AddExtension(endpoints.RouteMetaGVK, []interface{}{map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}})
	defs[name] = d
	return nil
}

// v2Document is one API set's rendered OpenAPI v2 document: JSON from the build, protobuf
// from the first request for it. The merged spec is not kept; the bytes are what is served.
type v2Document struct {
	json     []byte
	etag     string
	modified time.Time

	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

// ServeHTTP serves the document in the first media type of the Accept header it has, with an
// ETag that is the same for both encodings (the response varies by Accept); http.ServeContent
// answers If-None-Match and If-Modified-Since.
func (d *v2Document) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	accept := req.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	w.Header().Add("Vary", "Accept")
	for _, clause := range goautoneg.ParseAccept(accept) {
		for _, t := range v2MediaTypes {
			if (clause.Type != "application" && clause.Type != "*") || (clause.SubType != t.subtype && clause.SubType != "*") {
				continue
			}
			body := d.json
			if t.proto {
				d.protoOnce.Do(func() { d.proto, d.protoErr = handler.ToProtoBinary(d.json) })
				if d.protoErr != nil {
					responsewriters.InternalError(w, req, fmt.Errorf("failed to encode the OpenAPI v2 document in protobuf: %w", d.protoErr))
					return
				}
				body = d.proto
			}
			w.Header().Set("Content-Type", t.contentType)
			w.Header().Set("Etag", d.etag)
			http.ServeContent(w, req, v2Path, d.modified, bytes.NewReader(body))
			return
		}
	}
	accepted := make([]string, 0, len(v2MediaTypes))
	for _, t := range v2MediaTypes {
		accepted = append(accepted, "application/"+t.subtype)
	}
	responsewriters.ErrorNegotiated(negotiation.NewNotAcceptableError(accepted), scheme.Codecs, schema.GroupVersion{}, w, req)
}
