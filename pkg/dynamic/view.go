package dynamic

import (
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// viewEntry returns what the provider view v serves of the custom resource gr in account id:
// in an account, the account's entry if it is bound from the export, so that a local CRD or
// another export's resource of the same name stays invisible; at the wildcard, the serving of
// the export's current schema, which shows every bound account's objects (one storage prefix
// for all schema versions; the storage restriction picks the accounts). ok is false when the
// view does not serve gr.
func (x *Index) viewEntry(v view.Export, id cluster.ID, gr schema.GroupResource) (hash string, crd *apiextensionsv1.CustomResourceDefinition, terminating, ok bool) {
	name := gr.Resource + "." + gr.Group
	if id != cluster.Wildcard {
		e, found := x.Lookup(id, name)
		if !found || !e.Served() || e.Binding == nil || e.Binding.IdentityHash != v.IdentityHash() {
			return "", nil, false, false
		}
		return e.Identity, e.CRD, e.Terminating(), true
	}
	if v.Object == nil {
		return "", nil, false, false
	}
	s, ok := x.exportSchema(v.Object, gr)
	if !ok {
		return "", nil, false, false
	}
	i, err := x.viewIdentity(v.IdentityHash(), gr, s)
	if err != nil {
		return "", nil, false, false
	}
	return i.hash, i.crd, false, true
}

// viewIdentity returns the identity the wildcard view of an export serves gr with: the
// identity of the current schema s that knows every version objects under the export's prefix
// may be stored in, that is, a consumer's identity when one is up to date, or else an identity
// without members built from s and all stored versions. ForgetExport tears those down, as does
// the first member leaving.
func (x *Index) viewIdentity(identityHash string, gr schema.GroupResource, s *apisv1alpha1.APIResourceSchema) (*identity, error) {
	prefix := amstorage.BoundResourcePrefix(gr, identityHash)
	x.mu.RLock()
	var stored []string
	var candidates []*identity
	for _, i := range x.identities {
		if i.prefix != prefix {
			continue
		}
		for _, sv := range i.crd.Status.StoredVersions {
			if !slices.Contains(stored, sv) {
				stored = append(stored, sv)
			}
		}
		if i.crd.UID == s.UID {
			candidates = append(candidates, i)
		}
	}
	x.mu.RUnlock()
	for _, i := range candidates {
		if len(i.crd.Status.StoredVersions) == len(stored) {
			return i, nil
		}
	}
	slices.Sort(stored)
	crd := SynthesizeCRD(s, stored)
	hash, err := boundIdentity(identityHash, crd)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.identities[hash]
	if !ok {
		i = x.addIdentityLocked(hash, crd, prefix)
	}
	return i, nil
}

// exportSchema returns the current APIResourceSchema of the export's resource gr.
func (x *Index) exportSchema(e *apisv1alpha1.APIExport, gr schema.GroupResource) (*apisv1alpha1.APIResourceSchema, bool) {
	x.mu.RLock()
	store := x.schemaStore
	x.mu.RUnlock()
	if store == nil {
		return nil, false
	}
	for _, r := range e.Spec.Resources {
		if r.Group != gr.Group || r.Name != gr.Resource {
			continue
		}
		obj, ok, err := store.GetByKey(client.ToClusterKey(exportCluster(e), "", r.Schema))
		if err != nil || !ok {
			return nil, false
		}
		s, ok := obj.(*apisv1alpha1.APIResourceSchema)
		return s, ok && s.Spec.Group == gr.Group && s.Spec.Names.Plural == gr.Resource
	}
	return nil, false
}

// ForgetExport tears down the servings no account uses of the export with identityHash: those
// the provider view built for the wildcard. Call it when the export goes.
func (x *Index) ForgetExport(identityHash string) {
	suffix := ":" + identityHash
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, i := range x.identities {
		if len(i.members) == 0 && strings.HasSuffix(i.prefix, suffix) {
			x.removeIdentityLocked(i)
		}
	}
}

// ViewSource returns the API set of the provider view of export e: its resources with their
// current schemas, the same in every account of the view.
func (x *Index) ViewSource(e *apisv1alpha1.APIExport) APISetSource {
	var b strings.Builder
	b.WriteString("view/")
	b.WriteString(e.Status.IdentityHash)
	var schemas []*apisv1alpha1.APIResourceSchema
	for _, r := range e.Spec.Resources {
		s, ok := x.exportSchema(e, schema.GroupResource{Group: r.Group, Resource: r.Name})
		if !ok {
			continue
		}
		schemas = append(schemas, s)
		b.WriteString("/")
		b.WriteString(string(s.UID))
	}
	for _, c := range e.Spec.PermissionClaims {
		if c.IdentityHash == "" {
			b.WriteString("/claim:" + c.Group + "/" + c.Resource)
		}
	}
	return viewSource{key: b.String(), identityHash: e.Status.IdentityHash, schemas: schemas}
}

// viewSource is the APISetSource of a provider view.
type viewSource struct {
	key, identityHash string
	schemas           []*apisv1alpha1.APIResourceSchema
}

// APISet implements APISetSource: the view's resources are the same in every account.
func (s viewSource) APISet(cluster.ID) (string, []*Entry) {
	return s.key, s.entries()
}

// entries returns the view's resources with their current schemas.
func (s viewSource) entries() []*Entry {
	out := make([]*Entry, 0, len(s.schemas))
	for _, sc := range s.schemas {
		crd := SynthesizeCRD(sc, nil)
		out = append(out, &Entry{CRD: crd, Binding: &BindingSource{IdentityHash: s.identityHash}})
	}
	return out
}

// exportCluster returns the account of an export object.
func exportCluster(e *apisv1alpha1.APIExport) cluster.ID {
	return cluster.ID(e.Annotations[corev1alpha1.ClusterAnnotation])
}
