package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// TestHostileIdentity attacks authentication and impersonation: ServiceAccount tokens where
// they must not work, forged tokens, identities nobody granted, and impersonation beyond the
// exact grant.
func TestHostileIdentity(t *testing.T) {
	t.Parallel()
	org := newOrg(t, framework.RandomName("owner-"))
	acc := server.CreateAccount(t, org.Path, "acc")
	sib := server.CreateAccount(t, org.Path, "sib")
	mia := framework.RandomName("mia-")
	bob := framework.RandomName("bob-")

	// robot edits acc; a ServiceAccount of the same name administers sib; the org binds that
	// name to admin with an inherited binding, which ServiceAccounts do not inherit.
	robot := serviceAccountToken(t, acc, "robot")
	serviceAccountToken(t, sib, "robot")
	grantRole(t, acc, "edit", "--serviceaccount=default:robot", false)
	grantRole(t, sib, "admin", "--serviceaccount=default:robot", false)
	grantRole(t, org, "admin", "--serviceaccount=default:robot", true)
	// mia views acc and may impersonate the user bob there, nothing else.
	grantRole(t, acc, "view", "--user="+mia, false)
	kubectlApply(t, acc.Kubeconfig, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-bob}
rules:
- {apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [`+bob+`]}
`)
	grantRole(t, acc, "impersonate-bob", "--user="+mia, false)
	grantRole(t, acc, "view", "--user=alice", false)
	grantRole(t, acc, "view", "--user="+bob, false)

	in := func(a *framework.Account) string { return "/clusters/" + a.Path }
	cms := "/api/v1/namespaces/default/configmaps"
	r := tokenActor(t, "robot", robot)
	m := certActor(t, mia)
	alice := tokenActor(t, "alice", aliceToken)
	eventuallyAllowed(t, r, in(acc)+cms)
	eventuallyAllowed(t, m, in(acc)+cms)
	eventuallyAllowed(t, alice, in(acc)+cms)
	eventuallyAllowed(t, tokenActor(t, "robot at sib", serviceAccountToken(t, sib, "robot")), in(sib)+"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")
	eventuallyAllowed(t, &actor{name: mia + " as bob", b: m.b, header: http.Header{"Impersonate-User": {bob}}}, in(acc)+cms)

	forged := forgeToken(t, robot, acc.ClusterID, sib.ClusterID)
	unsigned := unsignedToken(t, robot)
	basic := base64.StdEncoding.EncodeToString([]byte("alice:" + aliceToken))
	crb := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"robot-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"default"}]}`
	imp := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}

	hostileTable(t, []attack{
		// R4: a ServiceAccount token in a sibling addressed by cluster ID.
		{name: "SA token at the sibling by ID", as: r, path: "/clusters/" + sib.ClusterID + cms, want: 401},
		// R4: a ServiceAccount token where a ServiceAccount of the same name is admin.
		{name: "SA token where its namesake is admin", as: r, path: in(sib) + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", want: 401},
		// R4: a ServiceAccount token at its own path in upper case (another, absent account).
		{name: "SA token at its path in upper case", as: r, path: "/clusters/" + strings.ToUpper(acc.Path) + cms, want: 401},
		// R4, R11: a ServiceAccount token outside accounts.
		{name: "SA token at /metrics", as: r, path: "/metrics", want: 401},
		// R4: a ServiceAccount token in root, where every authenticated user may list accessible accounts.
		{name: "SA token at root", as: r, path: "/clusters/root/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts", want: 401},
		// R4: minting a token for the sibling's namesake.
		{name: "SA token requesting a token in the sibling", as: r, method: http.MethodPost, path: in(sib) + "/api/v1/namespaces/default/serviceaccounts/robot/token",
			body: `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`, want: 401},
		// R4: a token whose account claims were rewritten keeps its old signature.
		{name: "SA token with forged account claims", as: tokenActor(t, "forged", forged), path: in(sib) + cms, want: 401},
		// R4: an unsigned token (alg none).
		{name: "unsigned SA token", as: tokenActor(t, "unsigned", unsigned), path: in(acc) + cms, want: 401},
		// R4, R6: ServiceAccount subjects of an ancestor's inherited binding do not apply below.
		{name: "SA picking up the org's inherited grant", as: r, method: http.MethodPost, path: in(acc) + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", body: crb, want: 403},
		// R4: basic authentication is not accepted.
		{name: "basic auth with a static token", as: anonymousActor(t), path: in(acc) + cms, header: http.Header{"Authorization": {"Basic " + basic}}, want: 401},
		// R4: a token in the query string is not accepted.
		{name: "token in the query string", as: anonymousActor(t), path: in(acc) + cms + "?access_token=" + aliceToken, want: 401},
		// R5: a ServiceAccount (edit) impersonating a user.
		{name: "SA impersonating a user", as: r, path: in(acc) + cms, header: imp("Impersonate-User", mia), want: 403},
		// R4, R5: a static token user asserting system:masters.
		{name: "static token asserting system:masters", as: alice, path: in(acc) + cms, header: imp("Impersonate-User", "alice", "Impersonate-Group", "system:masters"), want: 403},
		// R5: a grant to impersonate bob is not one for carol.
		{name: "impersonate another user", as: m, path: in(acc) + cms, header: imp("Impersonate-User", "carol"), want: 403},
		// R5: nor for a group.
		{name: "impersonate bob with a group", as: m, path: in(acc) + cms, header: imp("Impersonate-User", bob, "Impersonate-Group", "admins"), want: 403},
		// R5: nor for extra fields.
		{name: "impersonate bob with extra scopes", as: m, path: in(acc) + cms, header: imp("Impersonate-User", bob, "Impersonate-Extra-Scopes", "all"), want: 403},
		// R5: nor for the organisation extra of organisation identity providers.
		{name: "impersonate bob with an organisation", as: m, path: in(acc) + cms, header: imp("Impersonate-User", bob, "Impersonate-Extra-Accountmesh.io%2forganization", org.ClusterID), want: 403, echoes: []string{org.ClusterID}},
		// R5: nor for a UID.
		{name: "impersonate bob with a UID", as: m, path: in(acc) + cms, header: imp("Impersonate-User", bob, "Impersonate-Uid", "1"), want: 403},
		// R5: a ServiceAccount is impersonated through serviceaccounts, not users.
		{name: "impersonate a ServiceAccount by user name", as: m, path: in(acc) + cms, header: imp("Impersonate-User", "system:serviceaccount:default:robot"), want: 403},
		// R5: groups without a user.
		{name: "impersonate a group without a user", as: m, path: in(acc) + cms, header: imp("Impersonate-Group", "system:masters"), want: 400},
		// R5: anonymous callers cannot impersonate.
		{name: "anonymous impersonating", as: anonymousActor(t), path: in(acc) + cms, header: imp("Impersonate-User", bob), want: 401},
	}, []*framework.Account{org, acc, sib}, []string{sib.ClusterID, org.ClusterID})
	require.NotEmpty(t, unsigned)
}

// jwtParts splits a JWT into its decoded header and payload and its signature.
func jwtParts(t *testing.T, token string) (header, payload []byte, signature string) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	payload, err = base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	return header, payload, parts[2]
}

// forgeToken replaces from by to in a token's claims and keeps its signature.
func forgeToken(t *testing.T, token, from, to string) string {
	t.Helper()
	header, payload, sig := jwtParts(t, token)
	require.Contains(t, string(payload), from, "the token names its account")
	forged := strings.ReplaceAll(string(payload), from, to)
	return base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig
}

// unsignedToken returns a token's claims with the algorithm none and no signature.
func unsignedToken(t *testing.T, token string) string {
	t.Helper()
	_, payload, _ := jwtParts(t, token)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}
