package filters

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

func TestClusterHandler(t *testing.T) {
	t.Parallel()
	idx := cluster.NewIndex("rootid0000000000")
	idx.Set("rootid0000000000", "acme", "acmeid0000000000", cluster.Attributes{})
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	codecs := serializer.NewCodecFactory(s)

	type seen struct {
		path    string
		cluster cluster.ID
	}
	for _, tc := range []struct {
		method, path string
		wantCode     int
		want         *seen
	}{
		{"GET", "/clusters/root/api/v1/namespaces", http.StatusOK, &seen{"/api/v1/namespaces", "rootid0000000000"}},
		{"GET", "/clusters/root:acme/apis", http.StatusOK, &seen{"/apis", "acmeid0000000000"}},
		{"POST", "/clusters/acmeid0000000000/api/v1/namespaces", http.StatusOK, &seen{"/api/v1/namespaces", "acmeid0000000000"}},
		{"GET", "/clusters/root:acme", http.StatusOK, &seen{"/", "acmeid0000000000"}},
		{"GET", "/clusters/*/api/v1/configmaps", http.StatusOK, &seen{"/api/v1/configmaps", cluster.Wildcard}},
		{"POST", "/clusters/*/api/v1/namespaces/default/configmaps", http.StatusMethodNotAllowed, nil},
		{"DELETE", "/clusters/*/api/v1/namespaces/default/configmaps/x", http.StatusMethodNotAllowed, nil},
		{"GET", "/clusters/root:nope/api/v1/namespaces", http.StatusOK, &seen{"/api/v1/namespaces", cluster.Unknown}},
		{"GET", "/api/v1/namespaces", http.StatusNotFound, nil},
		{"GET", "/apis", http.StatusNotFound, nil},
		{"GET", "/readyz", http.StatusOK, &seen{"/readyz", ""}},
		{"GET", "/apisomething", http.StatusOK, &seen{"/apisomething", ""}},
	} {
		var got *seen
		h := WithClusterHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := cluster.FromContext(r.Context())
			got = &seen{r.URL.Path, id}
		}), idx, codecs)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		require.Equal(t, tc.wantCode, rec.Code, "%s %s: %s", tc.method, tc.path, rec.Body.String())
		require.Equal(t, tc.want, got, "%s %s", tc.method, tc.path)
		if tc.wantCode == http.StatusNotFound {
			require.Contains(t, rec.Body.String(), `"kind":"Status"`)
		}
	}
}

func TestUnknownAccountNotFound(t *testing.T) {
	t.Parallel()
	idx := cluster.NewIndex("rootid0000000000")
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	codecs := serializer.NewCodecFactory(s)
	for _, tc := range []struct {
		path     string
		wantCode int
	}{
		{"/clusters/root:nope/api/v1/namespaces", http.StatusNotFound},
		{"/clusters/root/api/v1/namespaces", http.StatusOK},
		{"/version", http.StatusOK},
	} {
		h := WithClusterHandler(WithUnknownAccountNotFound(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), codecs), idx, codecs)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		require.Equal(t, tc.wantCode, rec.Code, tc.path)
		if tc.wantCode == http.StatusNotFound {
			require.Contains(t, rec.Body.String(), `account \"root:nope\" not found`)
		}
	}
}
