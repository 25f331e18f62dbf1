// Package discovery serves per-account API discovery: /apis (legacy and aggregated) and
// /apis/<group>[/<version>] for the custom resources of an account, on top of the built-in
// groups, which are the same in every account.
//
// Documents are built once per API set (pkg/dynamic's key of the custom resources an account
// serves) and shared by every account with the same set; accounts without custom resources get
// the generic server's own built-in documents. It only reads the dynamic index; it must not
// decide what is served.
package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/dynamic"
	"github.com/accountmesh/accountmesh/pkg/scheme"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// aggregatedAccept asks for aggregated discovery.
const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// Builtin are the generic server's discovery handlers of the built-in groups.
type Builtin struct {
	// Groups lists the built-in groups in legacy form.
	Groups discovery.GroupLister
	// Aggregated serves the built-in groups in aggregated form.
	Aggregated http.Handler
	// Addresses are the server's addresses for legacy discovery.
	Addresses discovery.Addresses
}

// Discovery serves per-account discovery. Set Builtin, Source and NotFound before serving.
type Discovery struct {
	Builtin Builtin
	Source  dynamic.APISetSource
	// Views gives the API sets of provider views; without it, view requests get the
	// account's documents.
	Views ViewSource
	// NotFound answers requests for groups the account does not serve.
	NotFound http.Handler

	builtinOnce       sync.Once
	builtinLegacy     []metav1.APIGroup
	builtinAggregated []apidiscoveryv2.APIGroupDiscovery
	builtinErr        error

	sets, viewSets dynamic.APISetCache[*apiSet]
}

// ViewSource gives the custom resources of a provider view; the dynamic index is one.
type ViewSource interface {
	ViewSource(e *apisv1alpha1.APIExport) dynamic.APISetSource
}

// forRequest returns the API set of a request: in a provider view, the export's resources and
// the built-in resources the view serves (apibindings and claimed resources); otherwise the
// account's custom resources and every built-in group.
func (d *Discovery) forRequest(req *http.Request) (*apiSet, bool, error) {
	if v, ok := view.FromContext(req.Context()); ok && v.Object != nil && d.Views != nil {
		keep := view.BuiltinResources(v.Object)
		return d.viewSets.ForRequest(req, d.Views.ViewSource(v.Object), func(ctx context.Context, entries []*dynamic.Entry) (*apiSet, error) {
			return d.build(ctx, entries, keep)
		})
	}
	return d.sets.ForRequest(req, d.Source, func(ctx context.Context, entries []*dynamic.Entry) (*apiSet, error) {
		return d.build(ctx, entries, nil)
	})
}

// apiSet holds the documents of one API set.
type apiSet struct {
	root     http.Handler
	groups   map[string]http.Handler
	versions map[schema.GroupVersion]http.Handler
}

// WrapRoot serves GET /apis for accounts with custom resources and passes everything else to h.
func (d *Discovery) WrapRoot(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet || (req.URL.Path != "/apis" && req.URL.Path != "/apis/") {
			h.ServeHTTP(w, req)
			return
		}
		set, ok, err := d.forRequest(req)
		switch {
		case err != nil:
			responsewriters.InternalError(w, req, err)
		case !ok:
			h.ServeHTTP(w, req)
		default:
			set.root.ServeHTTP(w, req)
		}
	})
}

// ServeHTTP serves /apis/<group> and /apis/<group>/<version> of the account's custom resources.
func (d *Discovery) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if req.Method != http.MethodGet || len(parts) < 2 || len(parts) > 3 || parts[0] != "apis" {
		d.NotFound.ServeHTTP(w, req)
		return
	}
	set, ok, err := d.forRequest(req)
	if err != nil {
		responsewriters.InternalError(w, req, err)
		return
	}
	var h http.Handler
	if ok && len(parts) == 2 {
		h = set.groups[parts[1]]
	} else if ok {
		h = set.versions[schema.GroupVersion{Group: parts[1], Version: parts[2]}]
	}
	if h == nil {
		d.NotFound.ServeHTTP(w, req)
		return
	}
	h.ServeHTTP(w, req)
}

// loadBuiltin captures the built-in groups once; they do not change after the server starts.
func (d *Discovery) loadBuiltin(ctx context.Context) error {
	d.builtinOnce.Do(func() {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/apis", nil)
		if d.builtinLegacy, d.builtinErr = d.Builtin.Groups.Groups(ctx, req); d.builtinErr != nil {
			return
		}
		req.Header.Set("Accept", aggregatedAccept)
		rec := httptest.NewRecorder()
		d.Builtin.Aggregated.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			d.builtinErr = fmt.Errorf("failed to read built-in aggregated discovery: %d %s", rec.Code, rec.Body.String())
			return
		}
		var list apidiscoveryv2.APIGroupDiscoveryList
		if d.builtinErr = json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&list); d.builtinErr != nil {
			return
		}
		d.builtinAggregated = list.Items
	})
	return d.builtinErr
}

// build makes the documents of the built-in groups plus the given CRDs. keep, when set, says
// which built-in resources to show; groups left without resources are left out.
func (d *Discovery) build(ctx context.Context, entries []*dynamic.Entry, keep func(group, resource string) bool) (*apiSet, error) {
	if err := d.loadBuiltin(ctx); err != nil {
		return nil, err
	}
	s := &apiSet{groups: map[string]http.Handler{}, versions: map[schema.GroupVersion]http.Handler{}}
	groups := filterBuiltin(d.builtinAggregated, keep)
	legacy := discovery.NewRootAPIsHandler(d.Builtin.Addresses, scheme.Codecs)
	for _, g := range d.builtinLegacy {
		if slices.ContainsFunc(groups, func(a apidiscoveryv2.APIGroupDiscovery) bool { return a.Name == g.Name }) {
			legacy.AddGroup(g)
		}
	}
	agg := aggregated.NewResourceManager("apis")
	// Built-in groups keep their order and win over custom groups in clients' REST mappers.
	for i, g := range groups {
		for _, v := range g.Versions {
			agg.SetGroupVersionPriority(metav1.GroupVersion{Group: g.Name, Version: v.Version}, 100000-i, 0)
		}
	}

	byGroup := map[string][]*apiextensionsv1.CustomResourceDefinition{}
	terminating := map[string]bool{}
	for _, e := range entries {
		byGroup[e.CRD.Spec.Group] = append(byGroup[e.CRD.Spec.Group], e.CRD)
		terminating[e.CRD.Name] = e.Terminating()
	}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, group := range names {
		crds := byGroup[group]
		versionSet := map[string]bool{}
		resources := map[string][]metav1.APIResource{}
		aggResources := map[string][]apidiscoveryv2.APIResourceDiscovery{}
		for _, crd := range crds {
			for _, v := range crd.Spec.Versions {
				if !v.Served {
					continue
				}
				versionSet[v.Name] = true
				r, a := resourcesOf(crd, v, terminating[crd.Name])
				resources[v.Name] = append(resources[v.Name], r...)
				aggResources[v.Name] = append(aggResources[v.Name], a)
			}
		}
		versions := make([]string, 0, len(versionSet))
		for v := range versionSet {
			versions = append(versions, v)
		}
		sort.Slice(versions, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(versions[i], versions[j]) > 0 })
		apiGroup := metav1.APIGroup{Name: group}
		aggGroup := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: group}}
		for _, v := range versions {
			gv := schema.GroupVersion{Group: group, Version: v}
			apiGroup.Versions = append(apiGroup.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: v})
			list := resources[v]
			s.versions[gv] = discovery.NewAPIVersionHandler(scheme.Codecs, gv, discovery.APIResourceListerFunc(func() []metav1.APIResource { return list }))
			aggGroup.Versions = append(aggGroup.Versions, apidiscoveryv2.APIVersionDiscovery{
				Version: v, Resources: aggResources[v], Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
			})
		}
		apiGroup.PreferredVersion = apiGroup.Versions[0]
		legacy.AddGroup(apiGroup)
		s.groups[group] = discovery.NewAPIGroupHandler(scheme.Codecs, apiGroup)
		groups = append(groups, aggGroup)
		for i, v := range versions {
			agg.SetGroupVersionPriority(metav1.GroupVersion{Group: group, Version: v}, 1000, len(versions)-i)
		}
	}
	agg.SetGroups(groups)
	s.root = aggregated.WrapAggregatedDiscoveryToHandler(legacy, agg, nil)
	return s, nil
}

// filterBuiltin returns the built-in groups with only the resources keep keeps (all when keep
// is nil), without emptied versions and groups.
func filterBuiltin(groups []apidiscoveryv2.APIGroupDiscovery, keep func(group, resource string) bool) []apidiscoveryv2.APIGroupDiscovery {
	if keep == nil {
		return slices.Clone(groups)
	}
	var out []apidiscoveryv2.APIGroupDiscovery
	for _, g := range groups {
		fg := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: g.ObjectMeta}
		for _, v := range g.Versions {
			fv := v
			fv.Resources = nil
			for _, r := range v.Resources {
				if keep(g.Name, r.Resource) {
					fv.Resources = append(fv.Resources, r)
				}
			}
			if len(fv.Resources) > 0 {
				fg.Versions = append(fg.Versions, fv)
			}
		}
		if len(fg.Versions) > 0 {
			out = append(out, fg)
		}
	}
	return out
}

// resourcesOf returns the legacy entries (resource and subresources) and the aggregated entry
// of a CRD's version.
func resourcesOf(crd *apiextensionsv1.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion, terminating bool) ([]metav1.APIResource, apidiscoveryv2.APIResourceDiscovery) {
	names := crd.Status.AcceptedNames
	verbs := metav1.Verbs{"delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"}
	if terminating {
		verbs = metav1.Verbs{"delete", "deletecollection", "get", "list", "watch"}
	}
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	storageVersion := v.Name
	for _, sv := range crd.Spec.Versions {
		if sv.Storage {
			storageVersion = sv.Name
		}
	}
	main := metav1.APIResource{
		Name: names.Plural, SingularName: names.Singular, Namespaced: namespaced, Kind: names.Kind, Verbs: verbs,
		ShortNames: names.ShortNames, Categories: names.Categories,
		StorageVersionHash: discovery.StorageVersionHash(crd.Spec.Group, storageVersion, names.Kind),
	}
	scope := apidiscoveryv2.ScopeCluster
	if namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	agg := apidiscoveryv2.APIResourceDiscovery{
		Resource: names.Plural, SingularResource: names.Singular, Scope: scope, Verbs: verbs,
		ResponseKind: &metav1.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: names.Kind},
		ShortNames:   names.ShortNames, Categories: names.Categories,
	}
	out := []metav1.APIResource{main}
	sub := v.Subresources
	if sub != nil && sub.Status != nil {
		out = append(out, metav1.APIResource{Name: names.Plural + "/status", Namespaced: namespaced, Kind: names.Kind, Verbs: metav1.Verbs{"get", "patch", "update"}})
		agg.Subresources = append(agg.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: "status", Verbs: []string{"get", "patch", "update"},
			ResponseKind: &metav1.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: names.Kind},
		})
	}
	if sub != nil && sub.Scale != nil {
		out = append(out, metav1.APIResource{Name: names.Plural + "/scale", Namespaced: namespaced, Group: "autoscaling", Version: "v1", Kind: "Scale", Verbs: metav1.Verbs{"get", "patch", "update"}})
		agg.Subresources = append(agg.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: "scale", Verbs: []string{"get", "patch", "update"},
			ResponseKind: &metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"},
		})
	}
	return out, agg
}
