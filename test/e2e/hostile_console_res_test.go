package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// The Accept headers of the resources page.
const (
	consoleTableAccept     = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	consoleDiscoveryAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)

// TestHostileConsoleResources attacks the resources page (R51 of docs/security.md): alice,
// signed in to her account, edits the address to reach another account's discovery, Tables,
// watches, objects and events through the console proxy. Each answer is the same 403 as for an
// account that does not exist, and holds nothing of the other account: not its cluster ID, its
// CRD's group, nor its objects' names. Her own discovery never lists the other account's API.
func TestHostileConsoleResources(t *testing.T) {
	t.Parallel()
	mine := server.NewAccount(t, "root")
	theirs := server.NewAccount(t, "root")
	grantRole(t, mine, "admin", "--user=alice", false)
	whoamiEventually(t, server.WriteTokenKubeconfig(t, mine.Path, aliceToken))
	// Their account: a CRD of their own group, an object of it, a ConfigMap and an event with
	// names that must not leak.
	group := framework.RandomName("secretgroup") + ".example.com"
	framework.KubectlStdin(t, theirs.Kubeconfig, fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
		"metadata":{"name":"gadgets.%[1]s"},
		"spec":{"group":%[1]q,"scope":"Namespaced","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},
		"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`, group),
		"create", "-f", "-")
	framework.Kubectl(t, theirs.Kubeconfig, "wait", "--for=condition=Established", "crd/gadgets."+group, "--timeout=60s")
	secretCM := framework.RandomName("their-cm-")
	framework.Kubectl(t, theirs.Kubeconfig, "create", "configmap", secretCM, "--from-literal=k=their-value")
	framework.KubectlStdin(t, theirs.Kubeconfig, `{"apiVersion":"`+group+`/v1","kind":"Gadget","metadata":{"name":"their-gadget"}}`, "create", "-f", "-")

	b := newConsoleBrowser(t)
	alice, csrf := b.signIn(t, aliceToken, mine.Path)
	as := func(accept string) http.Header {
		return http.Header{"X-Csrf-Token": {csrf}, "Accept": {accept}}
	}
	requests := []struct{ path, accept string }{
		{"/api", "application/json"},
		{"/api/v1", "application/json"},
		{"/apis", consoleDiscoveryAccept},
		{"/apis", "application/json"},
		{"/apis/" + group, "application/json"},
		{"/apis/" + group + "/v1", "application/json"},
		{"/apis/" + group + "/v1/gadgets", consoleTableAccept},
		{"/apis/" + group + "/v1/namespaces/default/gadgets/their-gadget", "application/json"},
		{"/api/v1/namespaces/default/configmaps", consoleTableAccept},
		{"/api/v1/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=0", consoleTableAccept},
		{"/api/v1/namespaces/default/configmaps/" + secretCM, "application/json"},
		{"/api/v1/events", "application/json"},
		{"/api/v1/namespaces", "application/json"},
		{"/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json"},
	}

	t.Run("her own account", func(t *testing.T) {
		// The page works in her account, and its discovery holds nothing of theirs.
		r := b.do(t, http.MethodGet, consoleAPI(mine.Path, "/apis"), alice, as(consoleDiscoveryAccept), "")
		require.Equal(t, http.StatusOK, r.code, r.body)
		require.Contains(t, r.body, `"APIGroupDiscoveryList"`)
		require.Contains(t, r.body, `"rbac.authorization.k8s.io"`)
		require.NotContains(t, r.body, group)
		r = b.do(t, http.MethodGet, consoleAPI(mine.Path, "/api/v1/namespaces/default/configmaps"), alice, as(consoleTableAccept), "")
		require.Equal(t, http.StatusOK, r.code, r.body)
		require.Contains(t, r.body, `"kind":"Table"`)
		require.NotContains(t, r.body, secretCM)
		// Their group is not served in her account (her role does not cover it: 403 before 404).
		r = b.do(t, http.MethodGet, consoleAPI(mine.Path, "/apis/"+group+"/v1/gadgets"), alice, as(consoleTableAccept), "")
		require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, r.code, r.body)
		require.NotContains(t, r.body, "their-gadget")
	})

	t.Run("another account by its path or ID", func(t *testing.T) {
		absent := "root:" + framework.RandomName("absent-")
		for _, q := range requests {
			gone := b.do(t, http.MethodGet, consoleAPI(absent, q.path), alice, as(q.accept), "")
			for _, target := range []string{theirs.Path, theirs.ClusterID} {
				r := b.do(t, http.MethodGet, consoleAPI(target, q.path), alice, as(q.accept), "")
				require.Equal(t, http.StatusForbidden, r.code, "%s %s: %s", target, q.path, r.body)
				require.Equal(t, gone.code, r.code, "%s: an absent account answers otherwise: %s", q.path, gone.body)
				require.Equal(t, strings.ReplaceAll(gone.body, absent, "ACCOUNT"), strings.ReplaceAll(r.body, target, "ACCOUNT"),
					"%s %s: the answer differs from an absent account's", target, q.path)
				for _, secret := range []string{theirs.ClusterID, group, secretCM, "their-gadget", "their-value"} {
					if strings.Contains(target+q.path, secret) {
						continue // what she typed may be echoed
					}
					require.NotContains(t, r.body, secret, "%s %s", target, q.path)
				}
				require.NotContains(t, r.header.Get("Content-Type"), "apidiscovery")
			}
		}
	})

	t.Run("paths around the account", func(t *testing.T) {
		// Dot segments or encodings from her account into theirs are refused before the API.
		for _, p := range []string{
			"/console/api/clusters/" + mine.Path + "/../" + theirs.Path + "/api/v1",
			"/console/api/clusters/" + mine.Path + "%2F..%2F" + theirs.Path + "/apis",
			"/console/api/clusters/" + mine.Path + "/api/v1/..%2F..%2F..%2F" + theirs.Path + "/api/v1/events",
		} {
			r := b.do(t, http.MethodGet, p, alice, as(consoleTableAccept), "")
			require.Equal(t, http.StatusNotFound, r.code, "%s: %s", p, r.body)
			require.NotContains(t, r.body, theirs.ClusterID)
			require.NotContains(t, r.body, secretCM)
		}
	})
}
