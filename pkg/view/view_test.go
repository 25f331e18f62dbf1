package view

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/scheme"
)

const (
	root     cluster.ID = "root000000000000"
	provider cluster.ID = "prov000000000000"
	consumer cluster.ID = "cons000000000000"
)

func TestWithExportView(t *testing.T) {
	t.Parallel()
	idx := cluster.NewIndex(root)
	idx.Set(root, "prov", provider, cluster.Attributes{})
	for _, tc := range []struct {
		name, path string
		// wantPath is the path the next handler sees, "" when the view handler answers.
		wantPath string
		want     Export
		wantCode int
	}{
		{"by provider path, wildcard", "/services/export/root:prov/db/clusters/*/apis/g/v1/things", "/clusters/*/apis/g/v1/things",
			Export{ProviderID: provider, Name: "db", Account: "*"}, 0},
		{"by provider ID, account ID", "/services/export/" + string(provider) + "/db/clusters/" + string(consumer) + "/api/v1/secrets", "/clusters/" + string(consumer) + "/api/v1/secrets",
			Export{ProviderID: provider, Name: "db", Account: string(consumer)}, 0},
		{"account root", "/services/export/root:prov/db/clusters/" + string(consumer), "/clusters/" + string(consumer),
			Export{ProviderID: provider, Name: "db", Account: string(consumer)}, 0},
		{"account by path never resolves", "/services/export/root:prov/db/clusters/root:prov/apis", "/clusters/-/apis",
			Export{ProviderID: provider, Name: "db", Account: "root:prov"}, 0},
		{"root by path never resolves", "/services/export/root:prov/db/clusters/root/apis", "/clusters/-/apis",
			Export{ProviderID: provider, Name: "db", Account: "root"}, 0},
		{"unknown provider", "/services/export/root:nope/db/clusters/*/apis", "/clusters/*/apis",
			Export{ProviderID: cluster.Unknown, Name: "db", Account: "*"}, 0},
		{"not a view", "/clusters/root/api", "/clusters/root/api", Export{}, 0},
		{"other service", "/services/other/x", "", Export{}, http.StatusNotFound},
		{"no account", "/services/export/root:prov/db/clusters/", "", Export{}, http.StatusNotFound},
		{"no clusters segment", "/services/export/root:prov/db/apis", "", Export{}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var gotPath string
			var got Export
			h := WithExportView(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
				gotPath = req.URL.Path
				got, _ = FromContext(req.Context())
			}), idx, scheme.Codecs)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if tc.wantCode != 0 {
				require.Equal(t, tc.wantCode, rec.Code)
				require.Empty(t, gotPath)
				return
			}
			require.Equal(t, tc.wantPath, gotPath)
			require.Equal(t, tc.want, got)
		})
	}
}

type boundSet map[cluster.ID]bool

func (b boundSet) BoundTo(id cluster.ID, hash string) bool { return hash == "h" && b[id] }

func (b boundSet) ServesBound(id cluster.ID, e *apisv1alpha1.APIExport, _ schema.GroupResource) bool {
	return b.BoundTo(id, e.Status.IdentityHash)
}

// store is an informer stand-in: an indexer keyed like the shared informers.
type store struct{ cache.Indexer }

func (s store) Store() cache.Indexer { return s.Indexer }

func newStore() store {
	return store{cache.NewIndexer(func(obj interface{}) (string, error) { return client.ClusterKey(obj) }, cache.Indexers{})}
}

var secretsClaim = apisv1alpha1.PermissionClaim{Resource: "secrets", Verbs: []string{"get"},
	Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"x": "y"}}}

func bindingIn(id cluster.ID, name, hash string, applied ...apisv1alpha1.PermissionClaim) *apisv1alpha1.APIBinding {
	return &apisv1alpha1.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(id)}},
		Status: apisv1alpha1.APIBindingStatus{IdentityHash: hash, AppliedPermissionClaims: applied,
			BoundResources: []apisv1alpha1.BoundResource{{Group: "db.io", Resource: "databases"}}},
	}
}

func TestExports(t *testing.T) {
	t.Parallel()
	exports, bindings := newStore(), newStore()
	x := &Exports{}
	_, ok := x.Get(provider, "db")
	require.False(t, ok, "no export before Init")
	require.NoError(t, x.Init(exports, bindings, boundSet{consumer: true}))
	require.NoError(t, exports.Add(&apisv1alpha1.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(provider)}},
		Spec:       apisv1alpha1.APIExportSpec{PermissionClaims: []apisv1alpha1.PermissionClaim{secretsClaim}},
		Status:     apisv1alpha1.APIExportStatus{IdentityHash: "h"},
	}))
	require.NoError(t, exports.Add(&apisv1alpha1.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: "new", Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(provider)}},
	}))
	changed := secretsClaim
	changed.Verbs = []string{"get", "delete"}
	require.NoError(t, bindings.Add(bindingIn(consumer, "db", "h", secretsClaim)))
	require.NoError(t, bindings.Add(bindingIn("changed0000000000", "db", "h", changed)))
	require.NoError(t, bindings.Add(bindingIn("other00000000000", "db", "other", secretsClaim)))

	e, ok := x.Get(provider, "db")
	require.True(t, ok)
	_, ok = x.Get(provider, "new")
	require.False(t, ok, "an export without identity is not viewable")
	_, ok = x.Get(consumer, "db")
	require.False(t, ok)
	require.True(t, x.Bound(consumer, "h"))
	c := Claim(e, "", "secrets")
	require.NotNil(t, c)
	require.Nil(t, Claim(e, "", "configmaps"))
	require.True(t, x.ClaimApplied(consumer, "h", c))
	require.False(t, x.ClaimApplied("changed0000000000", "h", c), "an applied claim that differs")
	require.False(t, x.ClaimApplied("other00000000000", "h", c), "a binding of another export")
	keep := BuiltinResources(e)
	require.True(t, keep("", "secrets"))
	require.True(t, keep(apisv1alpha1.GroupName, "apibindings"))
	require.False(t, keep(apisv1alpha1.GroupName, "apiexports"))
}

func TestWatchesRevoke(t *testing.T) {
	t.Parallel()
	secrets := schema.GroupResource{Resource: "secrets"}
	databases := schema.GroupResource{Group: "db.io", Resource: "databases"}
	for _, tc := range []struct {
		name    string
		updated *apisv1alpha1.APIBinding
		// ended are the watches that end, by resource and account.
		ended []string
	}{
		{"nothing revoked", bindingIn(consumer, "db", "h", secretsClaim), nil},
		{"claim rejected", bindingIn(consumer, "db", "h"), []string{"secrets/" + string(consumer), "secrets/*"}},
		{"binding deleted", nil, []string{"secrets/" + string(consumer), "secrets/*", "databases/" + string(consumer), "databases/*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &Watches{}
			ctxs := map[string]context.Context{}
			for _, gr := range []schema.GroupResource{secrets, databases} {
				for _, id := range []cluster.ID{consumer, cluster.Wildcard, "else000000000000"} {
					ctx, done := w.Track(t.Context(), "h", gr, id)
					t.Cleanup(done)
					ctxs[gr.Resource+"/"+string(id)] = ctx
				}
			}
			w.revoke(bindingIn(consumer, "db", "h", secretsClaim), tc.updated)
			var ended []string
			for k, ctx := range ctxs {
				if ctx.Err() != nil {
					ended = append(ended, k)
				}
			}
			require.ElementsMatch(t, tc.ended, ended)
		})
	}
	w := &Watches{}
	_, done := w.Track(t.Context(), "h", secrets, consumer)
	require.Equal(t, 1, w.Len())
	done()
	require.Zero(t, w.Len(), "ended watches are forgotten")
}

// BenchmarkClaimApplied measures the claim check of a request in one account among 1,000
// bound accounts, as the authorizer and the storage restriction make it.
func BenchmarkClaimApplied(b *testing.B) {
	exports, bindings := newStore(), newStore()
	x := &Exports{}
	require.NoError(b, x.Init(exports, bindings, boundSet{}))
	for i := range 1000 {
		require.NoError(b, bindings.Add(bindingIn(cluster.ID(fmt.Sprintf("c%015d", i)), "db", "h", secretsClaim)))
	}
	c := secretsClaim
	b.ReportAllocs()
	for b.Loop() {
		if !x.ClaimApplied("c000000000000500", "h", &c) {
			b.Fatal("claim not applied")
		}
	}
}
