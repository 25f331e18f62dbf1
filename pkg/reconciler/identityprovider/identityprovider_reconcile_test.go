package identityprovider

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"

	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication/oidc"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const testOrg cluster.ID = "orgaaaaaaaaaaaaa"

func testIdP() *iamv1alpha1.IdentityProvider {
	return &iamv1alpha1.IdentityProvider{
		ObjectMeta: metav1.ObjectMeta{Name: "corp", UID: "u1", Generation: 1},
		Spec:       iamv1alpha1.IdentityProviderSpec{IssuerURL: "https://login.example", ClientID: "mesh"},
	}
}

func fetched(t string) metav1.Condition {
	return condition(t, metav1.ConditionTrue, iamv1alpha1.ReasonFetched, "ok")
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	key := client.ToClusterKey(testOrg, "", "corp")
	unhealthy := errors.New("not initialized")
	for _, tc := range []struct {
		name        string
		idp         *iamv1alpha1.IdentityProvider
		buildErr    error
		health      error
		discovery   metav1.Condition
		keys        metav1.Condition
		wantReady   metav1.ConditionStatus
		wantReason  string
		wantRecheck time.Duration
		wantSet     bool
	}{
		{name: "reachable issuer", idp: testIdP(), discovery: fetched(iamv1alpha1.ConditionDiscovery), keys: fetched(iamv1alpha1.ConditionKeys),
			wantReady: metav1.ConditionTrue, wantReason: iamv1alpha1.ReasonAuthenticating, wantRecheck: recheckReady, wantSet: true},
		{name: "authenticator still loading", idp: testIdP(), health: unhealthy, discovery: fetched(iamv1alpha1.ConditionDiscovery), keys: fetched(iamv1alpha1.ConditionKeys),
			wantReady: metav1.ConditionFalse, wantReason: iamv1alpha1.ReasonNotReady, wantRecheck: retryInitializing, wantSet: true},
		{name: "unreachable issuer", idp: testIdP(),
			discovery: condition(iamv1alpha1.ConditionDiscovery, metav1.ConditionFalse, iamv1alpha1.ReasonUnreachable, "refused"),
			keys:      condition(iamv1alpha1.ConditionKeys, metav1.ConditionFalse, iamv1alpha1.ReasonDiscoveryFailed, "not fetched"),
			wantReady: metav1.ConditionFalse, wantReason: iamv1alpha1.ReasonNotReady, wantRecheck: retryNotReady, wantSet: true},
		{name: "invalid configuration", idp: testIdP(), buildErr: errors.New("bad claim"),
			wantReady: metav1.ConditionFalse, wantReason: iamv1alpha1.ReasonConfigurationInvalid},
		{name: "deleted", wantRecheck: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			orgs := oidc.NewOrgs(cluster.NewIndex("rootrootrootroot"))
			var written *iamv1alpha1.IdentityProvider
			r := &reconciler{
				orgs:  orgs,
				built: map[string]builtProvider{},
				get: func(string) (*iamv1alpha1.IdentityProvider, bool, error) {
					return tc.idp, tc.idp != nil, nil
				},
				updateStatus: func(_ context.Context, id cluster.ID, idp *iamv1alpha1.IdentityProvider) error {
					require.Equal(t, testOrg, id)
					written = idp
					return nil
				},
				probe: func(context.Context, *http.Client, string) (metav1.Condition, metav1.Condition) {
					return tc.discovery, tc.keys
				},
				build: func(context.Context, *iamv1alpha1.IdentityProvider) (oidc.Provider, *http.Client, error) {
					return oidc.Provider{Issuer: "https://login.example", Authenticator: healthCheck{tc.health}}, http.DefaultClient, tc.buildErr
				},
				now: time.Now,
			}
			if tc.idp == nil {
				orgs.Set(testOrg, "corp", oidc.Provider{Issuer: "https://login.example"})
			}
			recheck, err := r.reconcile(t.Context(), key)
			require.NoError(t, err)
			require.Equal(t, tc.wantRecheck, recheck)
			require.Equal(t, tc.wantSet, orgs.Has(testOrg, "corp"))
			if tc.idp == nil {
				require.Nil(t, written)
				return
			}
			require.NotNil(t, written)
			ready := meta.FindStatusCondition(written.Status.Conditions, iamv1alpha1.ConditionReady)
			require.NotNil(t, ready)
			require.Equal(t, tc.wantReady, ready.Status)
			require.Equal(t, tc.wantReason, ready.Reason)
			require.Equal(t, int64(1), written.Status.ObservedGeneration)

			// A second pass with the written status changes nothing and builds nothing again.
			tc.idp = written
			written = nil
			r.build = func(context.Context, *iamv1alpha1.IdentityProvider) (oidc.Provider, *http.Client, error) {
				t.Fatal("the authenticator of an unchanged spec must not be rebuilt")
				return oidc.Provider{}, nil, nil
			}
			_, err = r.reconcile(t.Context(), key)
			require.NoError(t, err)
			require.Nil(t, written, "an unchanged status must not be written")
		})
	}
}

// healthCheck is an authenticator stub with a health check.
type healthCheck struct{ err error }

func (h healthCheck) AuthenticateToken(context.Context, string) (*authenticator.Response, bool, error) {
	return nil, false, nil
}

func (h healthCheck) HealthCheck() error { return h.err }

func TestProbeIssuer(t *testing.T) {
	t.Parallel()
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/keys"}`))
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"RSA"}]}`))
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	issuer = srv.URL

	discovery, keys := probeIssuer(t.Context(), srv.Client(), issuer)
	require.Equal(t, metav1.ConditionTrue, discovery.Status, discovery.Message)
	require.Equal(t, metav1.ConditionTrue, keys.Status, keys.Message)

	discovery, _ = probeIssuer(t.Context(), srv.Client(), issuer+"/other")
	require.Equal(t, metav1.ConditionFalse, discovery.Status)
	require.Equal(t, iamv1alpha1.ReasonUnreachable, discovery.Reason, "404 for another issuer path")

	discovery, keys = probeIssuer(t.Context(), http.DefaultClient, issuer)
	require.Equal(t, metav1.ConditionFalse, discovery.Status, "the test CA is not trusted by default")
	require.Contains(t, discovery.Message, "failed to fetch the discovery document")
	require.Equal(t, iamv1alpha1.ReasonDiscoveryFailed, keys.Reason)
}

// BenchmarkBuildProvider measures what one organisation's identity provider costs: building
// its upstream authenticator, and the heap it keeps while installed (heap-B/provider).
func BenchmarkBuildProvider(b *testing.B) {
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/keys"}`))
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	})
	srv := httptest.NewTLSServer(mux)
	b.Cleanup(srv.Close)
	issuer = srv.URL
	idp := testIdP()
	idp.Spec.IssuerURL = issuer
	idp.Spec.UsernameClaim, idp.Spec.UsernamePrefix = "sub", "root:acme:"
	var providers []oidc.Provider
	b.Cleanup(func() {
		for _, p := range providers {
			p.Cancel()
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		p, _, err := buildProvider(b.Context(), idp)
		if err != nil {
			b.Fatal(err)
		}
		providers = append(providers, p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(len(providers)), "heap-B/provider")
}
