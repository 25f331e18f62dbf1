package view

import (
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/storage"
)

// URLPrefix is the path prefix of service URLs; ExportPrefix that of provider views.
const (
	URLPrefix    = "/services/"
	ExportPrefix = URLPrefix + "export/"
)

// WithExportView returns the view handler, to run in front of filters.WithClusterHandler: it
// rewrites /services/export/<provider>/<export>/clusters/<account>/<rest> to
// /clusters/<account>/<rest> with an Export in the context. The provider is resolved by path or
// cluster ID (an unknown one becomes cluster.Unknown, and authorization denies it); the account
// only by cluster ID or "*": anything else is rewritten to an account that never resolves.
// Other /services/ URLs get 404; everything else passes to next unchanged.
func WithExportView(next http.Handler, resolver cluster.Resolver, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		path := req.URL.Path
		if !strings.HasPrefix(path, URLPrefix) && path != strings.TrimSuffix(URLPrefix, "/") {
			next.ServeHTTP(w, req)
			return
		}
		parts := strings.SplitN(strings.TrimPrefix(path, ExportPrefix), "/", 4)
		if !strings.HasPrefix(path, ExportPrefix) || len(parts) < 4 || parts[0] == "" || parts[1] == "" || parts[2] != "clusters" || parts[3] == "" {
			responsewriters.ErrorNegotiated(cluster.NotFound("the provider view is served at "+ExportPrefix+"<provider-path>/<export>/clusters/<cluster-id|*>/..."),
				s, schema.GroupVersion{Version: "v1"}, w, req)
			return
		}
		account, rest, _ := strings.Cut(parts[3], "/")
		provider, ok := resolver.Resolve(parts[0])
		if !ok {
			provider = cluster.Unknown
		}
		resolved := account
		if account != string(cluster.Wildcard) && !cluster.IsValidID(account) {
			resolved = string(cluster.Unknown)
		}
		r := req.Clone(WithExport(req.Context(), Export{ProviderID: provider, Name: parts[1], Account: account}))
		r.URL.Path = cluster.URLPrefix + resolved
		if rest != "" || strings.HasSuffix(parts[3], "/") {
			r.URL.Path += "/" + rest
		}
		r.URL.RawPath = ""
		r.RequestURI = r.URL.RequestURI()
		next.ServeHTTP(w, r)
	})
}

// WithUnboundNotFound belongs after authorization, in front of filters.WithUnknownAccountNotFound.
// For view requests it resolves the export into the context, answers 404 for an account that
// is unknown, addressed by path, or not bound to the export (one answer for all three), puts
// the storage restriction of the requested resource into the context, and tracks watches so
// that revocations end them.
func WithUnboundNotFound(next http.Handler, exports *Exports, watches *Watches, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := req.Context()
		v, ok := FromContext(ctx)
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		fail := func(err error) {
			responsewriters.ErrorNegotiated(err, s, schema.GroupVersion{Version: "v1"}, w, req)
		}
		e, ok := exports.Get(v.ProviderID, v.Name)
		if !ok {
			fail(cluster.NotFound(fmt.Sprintf("apiexport %q not found", v.Name)))
			return
		}
		hash := e.Status.IdentityHash
		id, _ := cluster.FromContext(ctx)
		if id != cluster.Wildcard && (id == cluster.Unknown || !exports.Bound(id, hash)) {
			fail(cluster.AccountNotFound(v.Account))
			return
		}
		v.Object = e
		ctx = WithExport(ctx, v)
		if info, ok := request.RequestInfoFrom(ctx); ok && info.IsResourceRequest {
			gr := schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}
			ctx = storage.WithRestriction(ctx, restriction(exports, e, gr))
			if info.Verb == "watch" {
				var done func()
				ctx, done = watches.Track(ctx, hash, gr, id)
				defer done()
			}
		}
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// restriction returns what the view of export e shows of resource gr: objects of bound
// accounts; for a claimed resource, objects of accounts that applied the claim and match its
// selector; for a managed service's related resource, objects in the tenant spaces of the
// export's bindings; for apibindings, the bindings of the export.
func restriction(exports *Exports, e *apisv1alpha1.APIExport, gr schema.GroupResource) storage.Restriction {
	hash := e.Status.IdentityHash
	bound := func(id cluster.ID) bool { return exports.Bound(id, hash) }
	switch {
	case ExportedResource(e, gr.Group, gr.Resource):
		return storage.Restriction{Member: bound}
	case gr == apisv1alpha1.Resource("apibindings"):
		// A binding carries the export's identity itself. Account membership is not asked:
		// the index learns it from the very binding update a watch would then filter out.
		return storage.Restriction{Object: func(obj runtime.Object) bool {
			b, ok := obj.(*apisv1alpha1.APIBinding)
			return ok && b.Status.IdentityHash == hash
		}}
	}
	if Related(e, gr.Group, gr.Resource) {
		return storage.Restriction{Member: bound, Object: func(obj runtime.Object) bool {
			m, err := meta.Accessor(obj)
			return err == nil && exports.TenantSpace(cluster.ID(m.GetAnnotations()[corev1alpha1.ClusterAnnotation]), hash, m.GetNamespace())
		}}
	}
	if c := Claim(e, gr.Group, gr.Resource); c != nil {
		r := storage.Restriction{Member: func(id cluster.ID) bool { return exports.ClaimApplied(id, hash, c) }}
		if c.Selector != nil {
			sel, err := metav1.LabelSelectorAsSelector(c.Selector)
			if err != nil {
				sel = labels.Nothing()
			}
			r.Selector = sel
		}
		return r
	}
	return storage.Restriction{Member: bound}
}
