package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/stretchr/testify/require"
	protobuf "google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/util/proto"
	protovalidation "k8s.io/kube-openapi/pkg/util/proto/validation"
	"sigs.k8s.io/yaml"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// v2Proto is the media type kubectl and client-go ask /openapi/v2 for.
const v2Proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

// openAPIV2 fetches an account's OpenAPI v2 document as client-go does (protobuf).
func openAPIV2(t *testing.T, cfg *rest.Config) *openapi_v2.Document {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	doc, err := dc.OpenAPISchema()
	require.NoError(t, err)
	return doc
}

// v2Definitions returns the definition names of a v2 document.
func v2Definitions(doc *openapi_v2.Document) []string {
	var out []string
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		out = append(out, d.GetName())
	}
	return out
}

// v2Definition is the name of a custom resource's definition: the reversed group, the version
// and the kind.
func v2Definition(group, version, kind string) string {
	parts := strings.Split(group, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ".") + "." + version + "." + kind
}

// explainV2 runs kubectl explain on the OpenAPI v2 document.
func explainV2(t *testing.T, kubeconfig, what string, args ...string) (string, string, error) {
	t.Helper()
	return framework.KubectlResult(t, kubeconfig, "", append([]string{"explain", what, "--output=plaintext-openapiv2"}, args...)...)
}

// requireExplainV2 runs kubectl explain on the OpenAPI v2 document and asserts that it
// succeeds and says want.
func requireExplainV2(t *testing.T, kubeconfig, what, want string, args ...string) {
	t.Helper()
	out, errOut, err := explainV2(t, kubeconfig, what, args...)
	require.NoError(t, err, errOut)
	require.Contains(t, out, want)
}

// eventuallyV2Definitions waits until the account's v2 document has the definitions in want
// and none of those in gone.
func eventuallyV2Definitions(t *testing.T, cfg *rest.Config, want, gone []string) {
	t.Helper()
	var defs []string
	framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
		defs = v2Definitions(openAPIV2(t, cfg))
		for _, d := range want {
			if !slices.Contains(defs, d) {
				return false, nil
			}
		}
		for _, d := range gone {
			if slices.Contains(defs, d) {
				return false, nil
			}
		}
		return true, nil
	}, "want definitions %v and none of %v", want, gone)
}

// validateV2 validates a YAML object against its model in the v2 document, as kubectl's
// client-side validation does.
func validateV2(t *testing.T, doc *openapi_v2.Document, definition, kind, object string) []error {
	t.Helper()
	models, err := proto.NewOpenAPIData(doc)
	require.NoError(t, err)
	model := models.LookupModel(definition)
	require.NotNil(t, model, "no model %s", definition)
	var obj map[string]interface{}
	require.NoError(t, yaml.Unmarshal([]byte(object), &obj))
	return protovalidation.ValidateModel(obj, model, kind)
}

// requireFieldValidationInV2 asserts that kubectl's check of the v2 document, which decides
// between server-side field validation and validating on the client, finds the kind and its
// fieldValidation parameter.
func requireFieldValidationInV2(t *testing.T, cfg *rest.Config, gvk schema.GroupVersionKind) {
	t.Helper()
	dyn, err := framework.DynamicFor(cfg)
	require.NoError(t, err)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	require.NoError(t, resource.NewQueryParamVerifier(dyn, dc, resource.QueryParamFieldValidation).HasSupport(gvk))
}

// getV2 fetches an account's v2 document raw, with the Accept and If-None-Match headers.
func getV2(t *testing.T, cfg *rest.Config, accept, etag string) (*http.Response, []byte) {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cfg.Host+"/openapi/v2", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", accept)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// TestOpenAPIV2CRD checks that an account's OpenAPI v2 document has its CRDs, and only its
// own: kubectl explain on v2, client-go's OpenAPISchema, kubectl's client-side validation and
// field validation check read them; accounts with another schema of the same resource or
// without it never see them; the document is cached by ETag and shared by equal accounts.
func TestOpenAPIV2CRD(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	a := server.NewAccount(t, "root")
	same := server.NewAccount(t, "root")
	other := server.NewAccount(t, "root")
	none := server.NewAccount(t, "root")
	color := "              color: {type: string, description: The widget's colour.}\n"
	applyWidgetCRD(t, a, group, color)
	applyWidgetCRD(t, same, group, color)
	applyWidgetCRD(t, other, group, "              shape: {type: string, description: The widget's shape.}\n")
	widget := v2Definition(group, "v1", "Widget")

	t.Run("kubectl explain on v2", func(t *testing.T) {
		var out, errOut string
		framework.Eventually(t, establishedTimeout, func(context.Context) (bool, error) {
			var err error
			out, errOut, err = explainV2(t, a.Kubeconfig, "widgets."+group+".spec")
			return err == nil, nil
		}, "kubectl explain --output=plaintext-openapiv2 fails")
		require.Empty(t, errOut)
		require.Contains(t, out, "color\t<string>")
		require.Contains(t, out, "The widget's colour.")
		require.NotContains(t, out, "shape")

		out, errOut, err := explainV2(t, other.Kubeconfig, "widgets."+group+".spec")
		require.NoError(t, err, errOut)
		require.Contains(t, out, "The widget's shape.")
		require.NotContains(t, out, "color")

		_, errOut, err = explainV2(t, none.Kubeconfig, "widgets."+group)
		require.Error(t, err)
		require.Contains(t, errOut, `the server doesn't have a resource type "widgets"`)
	})

	t.Run("client-go OpenAPISchema", func(t *testing.T) {
		defs := v2Definitions(openAPIV2(t, a.Config))
		require.Contains(t, defs, widget)
		require.Contains(t, defs, v2Definition(group, "v1", "WidgetList"))
		require.Contains(t, defs, "io.k8s.api.core.v1.ConfigMap", "the built-in definitions stay")
		for _, d := range v2Definitions(openAPIV2(t, none.Config)) {
			require.NotContains(t, d, v2Definition(group, "", ""), "an account without the CRD sees its definition")
		}
		_, body := getV2(t, none.Config, "application/json", "")
		require.NotContains(t, string(body), group)
		require.NotContains(t, string(body), a.ClusterID)
	})

	t.Run("kubectl's client-side validation reads the schema", func(t *testing.T) {
		doc := openAPIV2(t, a.Config)
		obj := "apiVersion: " + group + "/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 2, color: red}\n"
		require.Empty(t, validateV2(t, doc, widget, "Widget", obj))
		errs := validateV2(t, doc, widget, "Widget", strings.Replace(obj, "color", "colour", 1))
		require.NotEmpty(t, errs)
		require.Contains(t, errs[0].Error(), `unknown field "colour"`)
		errs = validateV2(t, doc, widget, "Widget", strings.Replace(obj, "size: 2", "size: two", 1))
		require.NotEmpty(t, errs, "a string where the schema wants an integer")
		requireFieldValidationInV2(t, a.Config, schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"})
	})

	t.Run("content types and ETag", func(t *testing.T) {
		resp, body := getV2(t, a.Config, v2Proto, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", resp.Header.Get("Content-Type"))
		var doc openapi_v2.Document
		require.NoError(t, protobuf.Unmarshal(body, &doc))
		require.Contains(t, v2Definitions(&doc), widget)

		resp, body = getV2(t, a.Config, "application/json", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.Contains(t, string(body), `"`+widget+`"`)
		etag := resp.Header.Get("Etag")
		require.NotEmpty(t, etag)

		resp, body = getV2(t, a.Config, "application/json", etag)
		require.Equal(t, http.StatusNotModified, resp.StatusCode)
		require.Empty(t, body)
		resp, _ = getV2(t, same.Config, "application/json", etag)
		require.Equal(t, http.StatusNotModified, resp.StatusCode, "an account with the same CRDs has the same document")
		for _, acc := range []*framework.Account{other, none} {
			resp, _ = getV2(t, acc.Config, "application/json", etag)
			require.Equal(t, http.StatusOK, resp.StatusCode, "another account's ETag does not match in %s", acc.Path)
		}

		resp, body = getV2(t, a.Config, "text/html", "")
		require.Equal(t, http.StatusNotAcceptable, resp.StatusCode)
		require.Contains(t, string(body), `"kind": "Status"`)
	})
}

// customResourceYAML is a CRD of kind in group, with versions (a YAML list) in it.
func customResourceYAML(group, plural, kind, versions string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ` + plural + `.` + group + `
spec:
  group: ` + group + `
  names: {plural: ` + plural + `, singular: ` + strings.ToLower(kind) + `, kind: ` + kind + `, listKind: ` + kind + `List}
  scope: Namespaced
  versions:
` + versions
}

// crdVersionYAML is a CRD version entry whose schema has properties (a YAML block indented for
// it).
func crdVersionYAML(name string, served, storage bool, properties string) string {
	return fmt.Sprintf(`  - name: %s
    served: %t
    storage: %t
    schema:
      openAPIV3Schema:
        type: object
        properties:
`, name, served, storage) + properties
}

// versionYAML is a CRD version entry with a spec field named after the version.
func versionYAML(name string, served, storage bool) string {
	return crdVersionYAML(name, served, storage, `          spec:
            type: object
            properties:
              `+name+`Field: {type: string, description: Only in `+name+`.}
`)
}

// TestOpenAPIV2CustomResourcePublish follows upstream's CustomResourcePublishOpenAPI e2e tests
// in an account: CRDs without a validation schema, preserving unknown fields at the root or in
// an embedded object, several CRDs of one group with different versions or of different groups,
// a renamed version and a version no longer served.
func TestOpenAPIV2CustomResourcePublish(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	group := randomGroup()
	otherGroup := randomGroup()

	t.Run("without validation schema, unknown fields preserved at the root", func(t *testing.T) {
		kubectlApply(t, a.Kubeconfig, customResourceYAML(group, "noschemas", "NoSchema", `  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`))
		waitEstablished(t, a.Kubeconfig, "noschemas."+group)
		def := v2Definition(group, "v1", "NoSchema")
		eventuallyV2Definitions(t, a.Config, []string{def}, nil)
		out, errOut, err := explainV2(t, a.Kubeconfig, "noschemas."+group)
		require.NoError(t, err, errOut)
		require.Contains(t, out, "KIND:     NoSchema")
		require.Empty(t, validateV2(t, openAPIV2(t, a.Config), def, "NoSchema",
			"apiVersion: "+group+"/v1\nkind: NoSchema\nmetadata: {name: x}\nspec: {anything: [1, 2]}\nextra: true\n"),
			"any field is accepted")
	})

	t.Run("unknown fields preserved in an embedded object", func(t *testing.T) {
		kubectlApply(t, a.Kubeconfig, customResourceYAML(group, "embeds", "Embed", crdVersionYAML("v1", true, true, `          spec:
            type: object
            properties:
              template:
                type: object
                description: An embedded object.
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
`)))
		waitEstablished(t, a.Kubeconfig, "embeds."+group)
		def := v2Definition(group, "v1", "Embed")
		eventuallyV2Definitions(t, a.Config, []string{def}, nil)
		out, errOut, err := explainV2(t, a.Kubeconfig, "embeds."+group+".spec")
		require.NoError(t, err, errOut)
		require.Contains(t, out, "template\t<")
		require.Contains(t, out, "An embedded object.")
		doc := openAPIV2(t, a.Config)
		obj := "apiVersion: " + group + "/v1\nkind: Embed\nmetadata: {name: x}\nspec:\n  template: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {anything: 1}}\n"
		require.Empty(t, validateV2(t, doc, def, "Embed", obj), "unknown fields in the embedded object are kept")
		require.NotEmpty(t, validateV2(t, doc, def, "Embed", obj+"  unknown: 1\n"), "not beside it")
	})

	multi := "multis." + group
	t.Run("several CRDs of one group with different versions, and of different groups", func(t *testing.T) {
		kubectlApply(t, a.Kubeconfig, customResourceYAML(group, "multis", "Multi", versionYAML("v2", true, true)+versionYAML("v3", true, false)))
		kubectlApply(t, a.Kubeconfig, customResourceYAML(group, "fours", "Four", versionYAML("v4", true, true)))
		kubectlApply(t, a.Kubeconfig, customResourceYAML(otherGroup, "multis", "Multi", versionYAML("v5", true, true)))
		for _, name := range []string{multi, "fours." + group, "multis." + otherGroup} {
			waitEstablished(t, a.Kubeconfig, name)
		}
		eventuallyV2Definitions(t, a.Config, []string{
			v2Definition(group, "v2", "Multi"), v2Definition(group, "v3", "Multi"), v2Definition(group, "v4", "Four"),
			v2Definition(otherGroup, "v5", "Multi"),
		}, nil)
		requireExplainV2(t, a.Kubeconfig, "multis.spec", "Only in v3.", "--api-version="+group+"/v3")
		requireExplainV2(t, a.Kubeconfig, "multis.spec", "Only in v5.", "--api-version="+otherGroup+"/v5")
	})

	t.Run("a renamed version", func(t *testing.T) {
		kubectlApply(t, a.Kubeconfig, customResourceYAML(group, "multis", "Multi", versionYAML("v2", true, true)+versionYAML("v6", true, false)))
		eventuallyV2Definitions(t, a.Config, []string{v2Definition(group, "v2", "Multi"), v2Definition(group, "v6", "Multi")},
			[]string{v2Definition(group, "v3", "Multi")})
		requireExplainV2(t, a.Kubeconfig, "multis.spec", "Only in v6.", "--api-version="+group+"/v6")
	})

	t.Run("a version no longer served", func(t *testing.T) {
		kubectlApply(t, a.Kubeconfig, customResourceYAML(group, "multis", "Multi", versionYAML("v2", true, true)+versionYAML("v6", false, false)))
		eventuallyV2Definitions(t, a.Config, []string{v2Definition(group, "v2", "Multi"), v2Definition(group, "v4", "Four")},
			[]string{v2Definition(group, "v6", "Multi")})
		_, body := getV2(t, a.Config, "application/json", "")
		require.NotContains(t, string(body), "/apis/"+group+"/v6/")
		require.Contains(t, string(body), "/apis/"+group+"/v2/namespaces/{namespace}/multis/{name}")
	})
}

// TestOpenAPIV2Binding checks that a bound resource is in the consumer's OpenAPI v2 document,
// for kubectl explain and kubectl's field validation check, and not in the provider's.
func TestOpenAPIV2Binding(t *testing.T) {
	t.Parallel()
	group := randomGroup()
	provider := server.NewAccount(t, "root")
	consumer := server.NewAccount(t, "root")
	publishDatabases(t, provider, "db", group, "")
	bind(t, consumer, "db", provider.Path, "db")
	waitDiscoverable(t, consumer.Kubeconfig, "databases."+group)
	def := v2Definition(group, "v1", "Database")
	eventuallyV2Definitions(t, consumer.Config, []string{def}, nil)

	requireExplainV2(t, consumer.Kubeconfig, "databases."+group+".spec.engine", "The database engine.")

	// The consumer has no CRD that kubectl's check could fall back to.
	requireFieldValidationInV2(t, consumer.Config, schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Database"})

	require.NotContains(t, v2Definitions(openAPIV2(t, provider.Config)), def, "the provider did not bind its export")
	_, errOut, err := explainV2(t, provider.Kubeconfig, "databases."+group)
	require.Error(t, err)
	require.Contains(t, errOut, "the server doesn't have a resource type")
}
