package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileOpenAPI attacks the per-account OpenAPI documents as mia, who administers one
// account whose CRDs try to reach into or shadow what others see: the sibling's documents,
// existing or absent, by path, ID, media type or ETag; her own document may hold only her own
// custom resources, and her CRDs cannot replace a built-in definition.
func TestHostileOpenAPI(t *testing.T) {
	t.Parallel()
	org := newOrg(t, framework.RandomName("owner-"))
	a := server.CreateAccount(t, org.Path, "a")
	b := server.CreateAccount(t, org.Path, "b")
	plain := server.CreateAccount(t, org.Path, "plain")
	group := randomGroup()
	marker := framework.RandomName("leak-marker-")
	// The sibling's CRD describes a field with the marker; mia's defines the same resource
	// with another schema, and one named like the built-in ConfigMap's definition
	// (io.k8s.api.core.v1.ConfigMap).
	applyWidgetCRD(t, b, group, "              secret: {type: string, description: "+marker+"}\n")
	applyWidgetCRD(t, a, group, "              mine: {type: string, description: Mia's field.}\n")
	shadow := strings.Replace(customResourceYAML("core.api.k8s.io", "configmaps", "ConfigMap",
		crdVersionYAML("v1", true, true, "          data: {type: integer, description: Shadowed.}\n")), "metadata:\n", "metadata:\n  annotations: {api-approved.kubernetes.io: \"unapproved, shadowing a built-in definition\"}\n", 1)
	kubectlApply(t, a.Kubeconfig, shadow)
	waitEstablished(t, a.Kubeconfig, "configmaps.core.api.k8s.io")
	eventuallyV2Definitions(t, a.Config, []string{v2Definition(group, "v1", "Widget")}, nil)
	eventuallyV2Definitions(t, b.Config, []string{v2Definition(group, "v1", "Widget")}, nil)

	mia := framework.RandomName("mia-")
	grantRole(t, a, "admin", "--user="+mia, false)
	m := certActor(t, mia)
	in := func(acc *framework.Account) string { return "/clusters/" + acc.Path }
	eventuallyAllowed(t, m, in(a)+"/openapi/v2")
	absent := "/clusters/" + org.Path + ":nope-zz"
	protobuf := http.Header{"Accept": {v2Proto}}
	resp, _ := getV2(t, a.Config, "application/json", "")
	ownETag := resp.Header.Get("Etag")

	builtinConfigMap := func(t *testing.T, acc *framework.Account) string {
		t.Helper()
		_, body := getV2(t, acc.Config, "application/json", "")
		var doc struct {
			Definitions map[string]json.RawMessage `json:"definitions"`
		}
		require.NoError(t, json.Unmarshal(body, &doc))
		return string(doc.Definitions["io.k8s.api.core.v1.ConfigMap"])
	}

	hostileTable(t, []attack{
		// R2: the sibling's v2 document and an absent account's read alike.
		{name: "sibling's OpenAPI v2 vs absent", as: m, path: in(b) + "/openapi/v2", absent: absent + "/openapi/v2",
			presentName: b.Path, absentName: org.Path + ":nope-zz", want: 403},
		// R2: in protobuf, as kubectl asks for it.
		{name: "sibling's OpenAPI v2 in protobuf vs absent", as: m, path: in(b) + "/openapi/v2", header: protobuf, absent: absent + "/openapi/v2",
			presentName: b.Path, absentName: org.Path + ":nope-zz", want: 403},
		// R1: by the sibling's cluster ID.
		{name: "sibling's OpenAPI v2 by cluster ID", as: m, path: "/clusters/" + b.ClusterID + "/openapi/v2", want: 403},
		// R1: revalidating her own document's ETag in the sibling.
		{name: "own ETag in the sibling", as: m, path: in(b) + "/openapi/v2", header: http.Header{"If-None-Match": {ownETag}}, want: 403},
		// R1: her own document holds her schema of the shared resource, never the sibling's.
		{name: "own OpenAPI v2", as: m, path: in(a) + "/openapi/v2", want: 200, check: func(t *testing.T, body string) {
			t.Helper()
			require.Contains(t, body, "Mia's field.")
		}},
		// R1: and in protobuf.
		{name: "own OpenAPI v2 in protobuf", as: m, path: in(a) + "/openapi/v2", header: protobuf, want: 200},
		// R1: the v3 document of the shared group version.
		{name: "own OpenAPI v3 of the shared group", as: m, path: in(a) + "/openapi/v3/apis/" + group + "/v1", want: 200, check: func(t *testing.T, body string) {
			t.Helper()
			require.Contains(t, body, "Mia's field.")
		}},
		// R1: outside accounts, the document of the built-in APIs only.
		{name: "OpenAPI v2 outside accounts", as: m, path: "/openapi/v2", want: 200, check: func(t *testing.T, body string) {
			t.Helper()
			require.NotContains(t, body, group)
		}},
	}, []*framework.Account{org, a, b}, []string{marker, b.ClusterID, org.ClusterID})

	// Her CRD named like a built-in definition does not replace it in her account, nor does
	// the same schema exported from her account in a consumer's.
	schemaYAML := strings.NewReplacer("apiextensions.k8s.io/v1\nkind: CustomResourceDefinition", "apis.accountmesh.io/v1alpha1\nkind: APIResourceSchema",
		"name: configmaps.core.api.k8s.io", "name: v1.configmaps.core.api.k8s.io").Replace(shadow)
	kubectlApply(t, a.Kubeconfig, schemaYAML+`---
apiVersion: apis.accountmesh.io/v1alpha1
kind: APIExport
metadata: {name: cm}
spec:
  resources:
  - {group: core.api.k8s.io, name: configmaps, schema: v1.configmaps.core.api.k8s.io}
`)
	consumer := server.CreateAccount(t, org.Path, "consumer")
	bind(t, consumer, "cm", a.Path, "cm")
	eventuallyV2Definitions(t, consumer.Config, []string{"io.k8s.api.core.v1.ConfigMap_v2"}, nil)
	for _, acc := range []*framework.Account{a, consumer} {
		require.Equal(t, builtinConfigMap(t, plain), builtinConfigMap(t, acc), "a custom resource replaced the built-in ConfigMap definition in %s", acc.Name)
		out, errOut, err := explainV2(t, acc.Kubeconfig, "configmaps.data", "--api-version=v1")
		require.NoError(t, err, errOut)
		require.Contains(t, out, "map[string]string", "kubectl explains the built-in ConfigMap in %s", acc.Name)
		require.NotContains(t, out, "Shadowed.")
		requireExplainV2(t, acc.Kubeconfig, "configmaps.data", "Shadowed.", "--api-version=core.api.k8s.io/v1")
	}
}
