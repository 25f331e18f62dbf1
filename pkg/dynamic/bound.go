package dynamic

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/names"
	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

// SynthesizeCRD returns the CRD a bound APIResourceSchema is served as. storedVersions are the
// versions objects may be stored in; those the schema no longer has are kept as unserved
// copies of its storage version, so that their objects stay readable (the None converter
// accepts every version of the spec) and move to the storage version on their next write.
func SynthesizeCRD(s *apisv1alpha1.APIResourceSchema, storedVersions []string) *apiextensionsv1.CustomResourceDefinition {
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: s.Spec.Names.Plural + "." + s.Spec.Group, UID: s.UID, CreationTimestamp: s.CreationTimestamp},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:      s.Spec.Group,
			Names:      s.Spec.Names,
			Scope:      s.Spec.Scope,
			Versions:   slices.Clone(s.Spec.Versions),
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{
			AcceptedNames:  s.Spec.Names,
			StoredVersions: slices.Clone(storedVersions),
		},
	}
	var storage *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range s.Spec.Versions {
		if s.Spec.Versions[i].Storage {
			storage = &s.Spec.Versions[i]
		}
	}
	for _, v := range storedVersions {
		if storage == nil || slices.ContainsFunc(crd.Spec.Versions, func(sv apiextensionsv1.CustomResourceDefinitionVersion) bool { return sv.Name == v }) {
			continue
		}
		old := *storage
		old.Name, old.Served, old.Storage, old.Deprecated, old.DeprecationWarning = v, false, false, false, nil
		crd.Spec.Versions = append(crd.Spec.Versions, old)
	}
	if !slices.Contains(crd.Status.StoredVersions, storageVersionOf(s)) && storageVersionOf(s) != "" {
		crd.Status.StoredVersions = append(crd.Status.StoredVersions, storageVersionOf(s))
	}
	now := metav1.Now()
	for _, t := range []apiextensionsv1.CustomResourceDefinitionConditionType{apiextensionsv1.NamesAccepted, apiextensionsv1.Established} {
		crd.Status.Conditions = append(crd.Status.Conditions, apiextensionsv1.CustomResourceDefinitionCondition{
			Type: t, Status: apiextensionsv1.ConditionTrue, Reason: "Bound", Message: "bound from an APIExport", LastTransitionTime: now,
		})
	}
	return crd
}

// storageVersionOf returns the storage version of a schema, "" if it has none.
func storageVersionOf(s *apisv1alpha1.APIResourceSchema) string {
	for _, v := range s.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return ""
}

// boundIdentity returns the serving identity of a bound CRD: export identities keep
// byte-identical schemas of different exports apart, as their storage is.
func boundIdentity(identityHash string, crd *apiextensionsv1.CustomResourceDefinition) (string, error) {
	h, err := IdentityOf(crd)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(identityHash + "/" + h))
	return hex.EncodeToString(sum[:8]), nil
}

// binding is what the index knows of an APIBinding: the entries of its bound resources, by
// CRD name.
type binding struct {
	deleting  bool
	resources map[string]*Entry
}

// RegisterBindings feeds the index from informers over APIBindings and APIResourceSchemas in
// all accounts (keyed by client.ClusterKey). A binding's resources are served once its status
// lists them and its initial binding completed: the index serves what the binding controller
// decided.
func (x *Index) RegisterBindings(bindings, schemas interface {
	AddInlineEventHandler(cache.ResourceEventHandler)
	Store() cache.Indexer
}) {
	x.mu.Lock()
	x.bindingStore, x.schemaStore = bindings.Store(), schemas.Store()
	x.mu.Unlock()
	bindings.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    x.setBinding,
		UpdateFunc: func(_, obj interface{}) { x.setBinding(obj) },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
				x.removeBinding(b)
			}
		},
	})
	// A binding may be seen before the schemas it binds.
	schemas.AddInlineEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			key, err := client.ClusterKey(obj)
			if err != nil {
				return
			}
			x.mu.Lock()
			waiting := x.waiting[key]
			delete(x.waiting, key)
			x.mu.Unlock()
			for bkey := range waiting {
				if obj, ok, _ := x.bindingStore.GetByKey(bkey); ok {
					x.setBinding(obj)
				}
			}
		},
	})
}

// entriesOf builds the entries of a binding's bound resources. Resources whose schema is not
// known keep their previous entry, if any, and are reported as waiting on the schema's key.
func (x *Index) entriesOf(b *apisv1alpha1.APIBinding, previous *binding) (map[string]*Entry, []string) {
	if !meta.IsStatusConditionTrue(b.Status.Conditions, apisv1alpha1.BindingConditionInitialBindingCompleted) {
		return nil, nil
	}
	out := map[string]*Entry{}
	var waiting []string
	exportID := cluster.ID(b.Status.ExportClusterID)
	for _, br := range b.Status.BoundResources {
		name := br.Resource + "." + br.Group
		key := client.ToClusterKey(exportID, "", br.Schema)
		obj, ok, _ := x.schemaStore.GetByKey(key)
		s, _ := obj.(*apisv1alpha1.APIResourceSchema)
		if !ok || s == nil || string(s.UID) != br.SchemaUID {
			waiting = append(waiting, key)
			if previous != nil && previous.resources[name] != nil {
				out[name] = previous.resources[name]
			}
			continue
		}
		crd := SynthesizeCRD(s, br.StorageVersions)
		hash, err := boundIdentity(b.Status.IdentityHash, crd)
		if err != nil {
			klog.Background().Error(err, "Failed to index bound resource", "binding", b.Name, "resource", name)
			continue
		}
		out[name] = &Entry{
			CRD:      crd,
			Identity: hash,
			Prefix:   amstorage.BoundResourcePrefix(schema.GroupResource{Group: br.Group, Resource: br.Resource}, b.Status.IdentityHash),
			Binding: &BindingSource{
				Names: []string{b.Name}, ExportID: exportID, ExportName: b.Spec.Reference.Export.Name, IdentityHash: b.Status.IdentityHash,
			},
		}
	}
	return out, waiting
}

func (x *Index) setBinding(obj interface{}) {
	b, ok := obj.(*apisv1alpha1.APIBinding)
	if !ok || b.Spec.Reference.Export == nil {
		return
	}
	id := cluster.ID(b.Annotations[corev1alpha1.ClusterAnnotation])
	if id == "" {
		return
	}
	bkey := client.ToClusterKey(id, "", b.Name)
	x.mu.Lock()
	previous := x.bindings[id][b.Name]
	resources, waiting := x.entriesOf(b, previous)
	for _, key := range waiting {
		if x.waiting[key] == nil {
			x.waiting[key] = map[string]struct{}{}
		}
		x.waiting[key][bkey] = struct{}{}
	}
	if x.bindings[id] == nil {
		x.bindings[id] = map[string]*binding{}
	}
	x.bindings[id][b.Name] = &binding{deleting: b.DeletionTimestamp != nil, resources: resources}
	changed := x.rebuildLocked(id, previous, resources)
	for _, e := range resources {
		// Bound resources hold their claim: after a restart, the index learns them again here.
		x.claims.Claim(id, schema.GroupResource{Group: e.CRD.Spec.Group, Resource: e.CRD.Spec.Names.Plural},
			names.Owner{Kind: names.OwnerBinding, Name: b.Name, IdentityHash: e.Binding.IdentityHash})
	}
	x.mu.Unlock()
	x.notify(id, changed)
}

func (x *Index) removeBinding(b *apisv1alpha1.APIBinding) {
	id := cluster.ID(b.Annotations[corev1alpha1.ClusterAnnotation])
	x.mu.Lock()
	previous := x.bindings[id][b.Name]
	delete(x.bindings[id], b.Name)
	if len(x.bindings[id]) == 0 {
		delete(x.bindings, id)
	}
	changed := x.rebuildLocked(id, previous, nil)
	bkey := client.ToClusterKey(id, "", b.Name)
	for key, waiting := range x.waiting {
		delete(waiting, bkey)
		if len(waiting) == 0 {
			delete(x.waiting, key)
		}
	}
	for _, br := range b.Status.BoundResources {
		x.claims.Release(id, schema.GroupResource{Group: br.Group, Resource: br.Resource}, names.Owner{Kind: names.OwnerBinding, Name: b.Name, IdentityHash: b.Status.IdentityHash})
	}
	x.mu.Unlock()
	x.notify(id, changed)
}

func (x *Index) notify(id cluster.ID, names []string) {
	if x.onChange == nil {
		return
	}
	for _, name := range names {
		x.onChange(id, name)
	}
}

// rebuildLocked recomputes account id's bound entries of the names a binding had and has, from
// all bindings of the account, and returns the names. x.mu must be held.
func (x *Index) rebuildLocked(id cluster.ID, previous *binding, resources map[string]*Entry) []string {
	var names []string
	if previous != nil {
		for name := range previous.resources {
			names = append(names, name)
		}
	}
	for name := range resources {
		if previous == nil || previous.resources[name] == nil {
			names = append(names, name)
		}
	}
	for _, name := range names {
		x.rebuildNameLocked(id, name)
	}
	return names
}

// rebuildNameLocked recomputes account id's bound entry name: the entry of the first binding
// (by name) serving it, co-owned by the others.
func (x *Index) rebuildNameLocked(id cluster.ID, name string) {
	var merged *Entry
	bindingNames := make([]string, 0, len(x.bindings[id]))
	for bname := range x.bindings[id] {
		bindingNames = append(bindingNames, bname)
	}
	slices.Sort(bindingNames)
	for _, bname := range bindingNames {
		b := x.bindings[id][bname]
		e := b.resources[name]
		if e == nil {
			continue
		}
		if merged == nil {
			src := *e.Binding
			src.Names, src.Deleting = nil, true
			merged = &Entry{CRD: e.CRD, Identity: e.Identity, Prefix: e.Prefix, Binding: &src}
		}
		if e.Binding.IdentityHash != merged.Binding.IdentityHash {
			continue
		}
		merged.Binding.Names = append(merged.Binding.Names, bname)
		merged.Binding.Deleting = merged.Binding.Deleting && b.deleting
	}
	old, had := x.bound[id][name]
	if had && (merged == nil || old.Identity != merged.Identity) {
		x.leave(old.Identity, id)
	}
	if merged == nil {
		delete(x.bound[id], name)
		if len(x.bound[id]) == 0 {
			delete(x.bound, id)
		}
		return
	}
	merged.CRD = x.join(merged.Identity, merged.CRD, merged.Prefix, id)
	if x.bound[id] == nil {
		x.bound[id] = map[string]*Entry{}
	}
	x.bound[id][name] = merged
}

// BoundTo reports whether account id serves a resource bound from the export with identityHash.
func (x *Index) BoundTo(id cluster.ID, identityHash string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, e := range x.bound[id] {
		if e.Binding.IdentityHash == identityHash {
			return true
		}
	}
	return false
}

// ServesBound reports whether the provider view of export e serves resource gr in account id:
// whether a binding there bound gr with the export's identity. At the wildcard, whether the
// export's current schema of gr exists (objects of every bound account are served from it): a
// schema is never in a built-in group, so neither is what the view serves.
func (x *Index) ServesBound(id cluster.ID, e *apisv1alpha1.APIExport, gr schema.GroupResource) bool {
	if id == cluster.Wildcard {
		_, ok := x.exportSchema(e, gr)
		return ok
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	entry, ok := x.bound[id][gr.Resource+"."+gr.Group]
	return ok && entry.Binding.IdentityHash == e.Status.IdentityHash && entry.Served()
}

// BoundExport returns the account and name of the export that account id serves resource gr
// from, if gr is a bound resource served there.
func (x *Index) BoundExport(id cluster.ID, gr schema.GroupResource) (cluster.ID, string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.bound[id][gr.Resource+"."+gr.Group]
	if !ok || !e.Served() {
		return "", "", false
	}
	return e.Binding.ExportID, e.Binding.ExportName, true
}

// BoundExports returns the sources of the resources account id serves from exports, one per
// export, sorted by export account and name.
func (x *Index) BoundExports(id cluster.ID) []*BindingSource {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []*BindingSource
	for _, e := range x.bound[id] {
		if e.Served() && !slices.ContainsFunc(out, func(b *BindingSource) bool {
			return b.ExportID == e.Binding.ExportID && b.ExportName == e.Binding.ExportName
		}) {
			out = append(out, e.Binding)
		}
	}
	slices.SortFunc(out, func(a, b *BindingSource) int {
		return cmp.Or(cmp.Compare(a.ExportID, b.ExportID), cmp.Compare(a.ExportName, b.ExportName))
	})
	return out
}

// BoundAccounts returns the accounts serving resources bound from the export with identityHash.
func (x *Index) BoundAccounts(identityHash string) []cluster.ID {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []cluster.ID
	for id, m := range x.bound {
		for _, e := range m {
			if e.Binding.IdentityHash == identityHash {
				out = append(out, id)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Siblings returns the served custom resources of a group in account id, as CRDs, from CRDs
// and bindings, except those skip reports: what name conflicts are checked against.
func (x *Index) Siblings(id cluster.ID, group string, skip func(*Entry) bool) []*apiextensionsv1.CustomResourceDefinition {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, m := range []map[string]*Entry{x.accounts[id], x.bound[id]} {
		for _, e := range m {
			if e.CRD.Spec.Group == group && e.Served() && !skip(e) {
				out = append(out, e.CRD)
			}
		}
	}
	return out
}
