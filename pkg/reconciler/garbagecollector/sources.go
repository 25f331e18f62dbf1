package garbagecollector

import (
	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// Custom resources are watched by source: one watch of the metadata of a group/resource in
// every account that defines it with a CRD, whatever its schema, and one of a group/resource
// in every account that binds it from one export (identified by the export's identity hash),
// whose objects have a storage of their own. A source runs while some account defines or
// binds its resource, whatever the number of accounts.

// Informer is what the collector uses of a shared informer over all accounts
// (client.SharedInformer).
type Informer interface {
	// AddEventHandler registers a handler that first gets an add for every cached object.
	AddEventHandler(cache.ResourceEventHandler)
	// Store returns the cache, keyed by client.ClusterKey.
	Store() cache.Indexer
	// HasSynced reports whether the first list is cached and handled.
	HasSynced() bool
}

// Informers are the shared informers from which the collector learns which custom resources
// the accounts serve.
type Informers struct {
	// CRDs are the CustomResourceDefinitions of all accounts.
	CRDs Informer
	// Bindings and Schemas are the APIBindings and APIResourceSchemas of all accounts.
	Bindings, Schemas Informer
}

// Indexes the collector adds to the shared caches.
const (
	// byCRDName indexes CRDs by name (<plural>.<group>), across accounts.
	byCRDName = "garbagecollector/crd-name"
	// bySource indexes APIBindings by the sources of their bound resources.
	bySource = "garbagecollector/source"
	// byAccountResource indexes APIBindings by account and bound group/resource.
	byAccountResource = "garbagecollector/account-resource"
)

// sourceKey names one watch of custom resources in all accounts: a group/resource that
// accounts define with CRDs when identityHash is empty, else one they bind from the export
// with that identity hash.
type sourceKey struct {
	gr           schema.GroupResource
	identityHash string
}

// String names the source in logs and indexes.
func (k sourceKey) String() string {
	if k.identityHash == "" {
		return k.gr.String()
	}
	return k.gr.String() + ":" + k.identityHash
}

// local reports whether the source watches resources defined by CRDs.
func (k sourceKey) local() bool { return k.identityHash == "" }

// resource is the resource name the source is listed and watched under at the wildcard.
func (k sourceKey) resource() string {
	if k.identityHash == "" {
		return k.gr.Resource
	}
	return k.gr.Resource + ":" + k.identityHash
}

// crdName is the name of the CRDs of a group/resource.
func crdName(gr schema.GroupResource) string { return gr.Resource + "." + gr.Group }

// crdSource returns the source of the objects of a CRD.
func crdSource(crd *apiextensionsv1.CustomResourceDefinition) sourceKey {
	return sourceKey{gr: schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Spec.Names.Plural}}
}

// bindingSources returns the sources of the resources a binding bound.
func bindingSources(b *apisv1alpha1.APIBinding) []sourceKey {
	if b.Status.IdentityHash == "" {
		return nil
	}
	out := make([]sourceKey, 0, len(b.Status.BoundResources))
	for _, br := range b.Status.BoundResources {
		out = append(out, sourceKey{gr: schema.GroupResource{Group: br.Group, Resource: br.Resource}, identityHash: b.Status.IdentityHash})
	}
	return out
}

// accountResourceKey is the key of an account's group/resource in the byAccountResource index.
func accountResourceKey(id string, gr schema.GroupResource) string { return id + "|" + gr.String() }

// crdIndexers and bindingIndexers are the indexes the collector adds to the shared caches of
// CRDs and bindings.
var (
	crdIndexers = cache.Indexers{byCRDName: func(obj any) ([]string, error) {
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			return []string{crd.Name}, nil
		}
		return nil, nil
	}}
	bindingIndexers = cache.Indexers{
		bySource: func(obj any) ([]string, error) {
			b, ok := obj.(*apisv1alpha1.APIBinding)
			if !ok {
				return nil, nil
			}
			var out []string
			for _, k := range bindingSources(b) {
				out = append(out, k.String())
			}
			return out, nil
		},
		byAccountResource: func(obj any) ([]string, error) {
			b, ok := obj.(*apisv1alpha1.APIBinding)
			if !ok {
				return nil, nil
			}
			var out []string
			for _, k := range bindingSources(b) {
				out = append(out, accountResourceKey(b.Annotations[corev1alpha1.ClusterAnnotation], k.gr))
			}
			return out, nil
		},
	}
)

// servedCRD reports whether the server serves a CRD's resource in its account: its names are
// accepted (or it is established) and it converts with the None strategy.
func servedCRD(crd *apiextensionsv1.CustomResourceDefinition) bool {
	return (crd.Spec.Conversion == nil || crd.Spec.Conversion.Strategy == apiextensionsv1.NoneConverter) &&
		(apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.NamesAccepted) ||
			apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established))
}

// crdResource returns the resource an account's CRD serves; false when it serves nothing.
func crdResource(crd *apiextensionsv1.CustomResourceDefinition) (Resource, bool) {
	if !servedCRD(crd) {
		return Resource{}, false
	}
	v, ok := addressVersion(crd.Spec.Versions)
	if !ok {
		return Resource{}, false
	}
	return resourceOf(crd.Spec.Group, v, crd.Status.AcceptedNames, crd.Spec.Scope), true
}

// addressVersion returns the version objects are addressed in: the storage version when
// served, else the first served one; false when none is served.
func addressVersion(versions []apiextensionsv1.CustomResourceDefinitionVersion) (string, bool) {
	first := ""
	for _, v := range versions {
		if !v.Served {
			continue
		}
		if v.Storage {
			return v.Name, true
		}
		if first == "" {
			first = v.Name
		}
	}
	return first, first != ""
}

func resourceOf(group, v string, names apiextensionsv1.CustomResourceDefinitionNames, scope apiextensionsv1.ResourceScope) Resource {
	return Resource{
		GVR:        schema.GroupVersionResource{Group: group, Version: v, Resource: names.Plural},
		Kind:       names.Kind,
		Namespaced: scope == apiextensionsv1.NamespaceScoped,
	}
}

// localVersion returns the version a local source lists and watches in, from the CRDs of its
// name in all accounts: the version it uses now while a served CRD serves it (found without
// looking at the others), else the version most of them serve (the highest by Kubernetes
// version order on a tie). Any version will do: the wildcard serves the metadata of every
// account's objects in each. false when no account serves the resource.
func localVersion(crds []*apiextensionsv1.CustomResourceDefinition, current string) (string, bool) {
	counts := map[string]int{}
	for _, crd := range crds {
		if !servedCRD(crd) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if v.Name == current {
				return current, true
			}
			counts[v.Name]++
		}
	}
	best := ""
	for v, n := range counts {
		if best == "" || n > counts[best] || n == counts[best] && version.CompareKubeAwareVersionStrings(v, best) > 0 {
			best = v
		}
	}
	return best, best != ""
}

// schemaResource returns the resource an APIResourceSchema serves; false when it serves
// nothing.
func schemaResource(s *apisv1alpha1.APIResourceSchema) (Resource, bool) {
	v, ok := addressVersion(s.Spec.Versions)
	if !ok {
		return Resource{}, false
	}
	return resourceOf(s.Spec.Group, v, s.Spec.Names, s.Spec.Scope), true
}

// sourceState is what the collector reads of the shared caches to decide on sources.
type sourceState struct {
	crds, bindings, schemas cache.Indexer
}

// watchVersion returns the version a source lists and watches in, given the one it uses now,
// or false when no account defines or binds its resource any more. A bound source keeps its
// version while a binding addresses objects in it, else takes the one of the first account's
// binding (by cluster ID): the wildcard serves the metadata of every bound account in each
// version any of them has. Each event of a CRD or binding asks again, so the current version
// is checked first, without looking at every account.
func (s sourceState) watchVersion(key sourceKey, current string) (string, bool) {
	if key.local() {
		objs, err := s.crds.ByIndex(byCRDName, crdName(key.gr))
		if err != nil {
			return "", false
		}
		crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(objs))
		for _, obj := range objs {
			if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok && crdSource(crd) == key {
				crds = append(crds, crd)
			}
		}
		return localVersion(crds, current)
	}
	objs, err := s.bindings.ByIndex(bySource, key.String())
	if err != nil {
		return "", false
	}
	first, firstVersion := "", ""
	for _, obj := range objs {
		b, ok := obj.(*apisv1alpha1.APIBinding)
		if !ok {
			continue
		}
		r, ok := s.bindingResource(b, key)
		if !ok {
			continue
		}
		if r.GVR.Version == current {
			return current, true
		}
		if id := b.Annotations[corev1alpha1.ClusterAnnotation] + "|" + b.Name; first == "" || id < first {
			first, firstVersion = id, r.GVR.Version
		}
	}
	return firstVersion, first != ""
}

// bindingResource returns the resource of a source as a binding serves it, once it completed
// its first binding: from the schema its status bound. When the provider deleted or replaced
// that schema, the account keeps serving what it had, which the collector then addresses in
// the last storage version, without a kind (references to its objects are checked live).
func (s sourceState) bindingResource(b *apisv1alpha1.APIBinding, key sourceKey) (Resource, bool) {
	if !meta.IsStatusConditionTrue(b.Status.Conditions, apisv1alpha1.BindingConditionInitialBindingCompleted) || b.Status.IdentityHash != key.identityHash {
		return Resource{}, false
	}
	for _, br := range b.Status.BoundResources {
		if br.Group != key.gr.Group || br.Resource != key.gr.Resource {
			continue
		}
		obj, ok, err := s.schemas.GetByKey(client.ToClusterKey(cluster.ID(b.Status.ExportClusterID), "", br.Schema))
		if sc, isSchema := obj.(*apisv1alpha1.APIResourceSchema); err == nil && ok && isSchema && string(sc.UID) == br.SchemaUID {
			return schemaResource(sc)
		}
		if len(br.StorageVersions) == 0 {
			return Resource{}, false
		}
		return Resource{GVR: key.gr.WithVersion(br.StorageVersions[len(br.StorageVersions)-1])}, true
	}
	return Resource{}, false
}

// accountResource returns a group/resource as account id serves it, from a CRD or a binding:
// how the collector addresses that account's objects of it. false when the account serves
// neither.
func (s sourceState) accountResource(id string, gr schema.GroupResource) (Resource, bool) {
	obj, ok, err := s.crds.GetByKey(client.ToClusterKey(cluster.ID(id), "", crdName(gr)))
	if crd, isCRD := obj.(*apiextensionsv1.CustomResourceDefinition); err == nil && ok && isCRD && crdSource(crd).gr == gr {
		if r, ok := crdResource(crd); ok {
			return r, true
		}
	}
	objs, err := s.bindings.ByIndex(byAccountResource, accountResourceKey(id, gr))
	if err != nil {
		return Resource{}, false
	}
	for _, obj := range objs {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
			if r, ok := s.bindingResource(b, sourceKey{gr: gr, identityHash: b.Status.IdentityHash}); ok {
				return r, true
			}
		}
	}
	return Resource{}, false
}
