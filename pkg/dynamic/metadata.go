package dynamic

import (
	"net/http"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	amstorage "github.com/accountmesh/accountmesh/pkg/storage"
)

// The wildcard serves a whole custom resource only while every account defines it with one
// schema. Its metadata needs no schema: a list or watch at the wildcard that asks for
// metadata only (as=PartialObjectMetadata[List], what client-go's metadata client sends) is
// served across schemas, from one storage:
//
//   - /clusters/*/apis/<group>/<version>/<resource>: the objects of every account that
//     defines the resource with a CRD;
//   - /clusters/*/apis/<group>/<version>/<resource>:<identityHash>: the objects of every
//     account that binds the resource from the export with that identity hash, whichever
//     schema its binding serves, as long as it binds it (the export may be gone).
//
// While one identity serves what is asked for, it answers, in any version it serves; several
// share a schema-less identity that accepts any version any of them has or stored objects in.
// That is how the garbage collector watches every custom resource, one watch per storage
// whatever the number of accounts. Only the wildcard's callers (system:masters) reach it, and
// they get nothing but metadata they may read in each account anyway.

// metadataKey names what a metadata identity serves: the local CRDs' objects of a name, or,
// with an identity hash, the objects bound from the export with that hash.
type metadataKey struct {
	name, identityHash string
}

// metadataIdentity is the schema-less serving of a metadata key: hash is the identity hash of
// the CRD synthesized for it, which changes when the versions of its accounts do.
type metadataIdentity struct {
	hash string
	i    *identity
}

// metadataWildcard returns the CRD and serving of a request at the wildcard that lists or
// watches the metadata of a custom resource (resource or resource:identityHash in group);
// ok is false for any other request, which the identities serve as usual. A key that one
// identity serves is served by that identity; only one served by several gets a schema-less
// identity of its own.
func (x *Index) metadataWildcard(req *http.Request, verb, group, resource, version string) (crd *apiextensionsv1.CustomResourceDefinition, s *serving, err error, ok bool) {
	if verb != "list" && verb != "watch" {
		return nil, nil, nil, false
	}
	plural, identityHash, _ := strings.Cut(resource, ":")
	key := metadataKey{name: plural + "." + group, identityHash: identityHash}
	x.mu.RLock()
	hashes, _ := x.metadataIdentitiesLocked(key)
	x.mu.RUnlock()
	var i *identity
	switch len(hashes) {
	case 0:
		return nil, nil, nil, false
	case 1:
		if crd = x.identityCRD(hashes[0]); crd == nil {
			return nil, nil, nil, false
		}
		s, err = x.serving(hashes[0])
	default:
		if i = x.metadataIdentity(key); i == nil {
			return nil, nil, nil, false
		}
		i.once.Do(func() {
			i.serving, i.err = x.deps.newServing(i.crd, i.prefix, x.metadataMember(key))
			if i.serving != nil {
				i.built.Store(i.serving)
			}
		})
		crd, s, err = i.crd, i.serving, i.err
	}
	if err != nil {
		return crd, nil, err, true
	}
	v, served := s.versions[version]
	if !served || !negotiatesMetadata(req, v) {
		return nil, nil, nil, false
	}
	return crd, s, nil, true
}

// negotiatesMetadata reports whether the response to req in version v is object metadata
// only.
func negotiatesMetadata(req *http.Request, v *servedVersion) bool {
	opts, ok := negotiation.NegotiateMediaTypeOptions(req.Header.Get("Accept"), v.scope.Serializer.SupportedMediaTypes(), v.scope)
	return ok && opts.Convert != nil && opts.Convert.Group == metav1.GroupName &&
		(opts.Convert.Kind == "PartialObjectMetadata" || opts.Convert.Kind == "PartialObjectMetadataList")
}

// metadataIdentity returns the schema-less identity of a metadata key, creating it (unbuilt)
// when there is none or its accounts' versions changed; nil when fewer than two identities
// serve the key.
func (x *Index) metadataIdentity(key metadataKey) *identity {
	x.mu.Lock()
	defer x.mu.Unlock()
	crd, prefix := x.metadataCRDLocked(key)
	if crd == nil {
		return nil
	}
	hash, err := IdentityOf(crd)
	if err != nil {
		return nil
	}
	m := x.metadata[key.name][key.identityHash]
	if m == nil || m.hash != hash {
		if m != nil {
			x.tearDown(m.i)
		}
		m = &metadataIdentity{hash: hash, i: &identity{hash: hash, crd: crd, prefix: prefix}}
		if x.metadata[key.name] == nil {
			x.metadata[key.name] = map[string]*metadataIdentity{}
		}
		x.metadata[key.name][key.identityHash] = m
	}
	return m.i
}

// refreshMetadataLocked tears down the metadata identities of name whose accounts changed
// versions or that one identity serves again; the next request builds what is needed. x.mu
// must be held.
func (x *Index) refreshMetadataLocked(name string) {
	for identityHash, m := range x.metadata[name] {
		if crd, _ := x.metadataCRDLocked(metadataKey{name: name, identityHash: identityHash}); crd != nil {
			if hash, err := IdentityOf(crd); err == nil && hash == m.hash {
				continue
			}
		}
		delete(x.metadata[name], identityHash)
		x.tearDown(m.i)
	}
	if len(x.metadata[name]) == 0 {
		delete(x.metadata, name)
	}
}

// metadataMember reports whether an account serves what a metadata key names: the resource
// from a CRD, or bound from the export with the key's identity hash.
func (x *Index) metadataMember(key metadataKey) func(cluster.ID) bool {
	return func(id cluster.ID) bool {
		x.mu.RLock()
		defer x.mu.RUnlock()
		e, ok := x.lookupLocked(id, key.name)
		if !ok {
			return false
		}
		if key.identityHash == "" {
			return e.Binding == nil
		}
		return e.Binding != nil && e.Binding.IdentityHash == key.identityHash
	}
}

// metadataIdentitiesLocked returns the identities, sorted, that accounts use to serve what a
// metadata key names, and the storage prefix they share. x.mu must be held.
func (x *Index) metadataIdentitiesLocked(key metadataKey) ([]string, string) {
	var hashes []string
	prefix := ""
	for h, i := range x.byName[key.name] {
		gr := schema.GroupResource{Group: i.crd.Spec.Group, Resource: i.crd.Spec.Names.Plural}
		p := amstorage.ResourcePrefix(gr)
		if key.identityHash != "" {
			p = amstorage.BoundResourcePrefix(gr, key.identityHash)
		}
		if Servable(i.crd) && len(i.members) > 0 && i.prefix == p {
			hashes = append(hashes, h)
			prefix = p
		}
	}
	slices.Sort(hashes)
	return hashes, prefix
}

// metadataCRDLocked synthesizes the CRD a metadata key that several identities serve is served
// with, and returns its storage prefix: every version they have or have stored objects in,
// all served, with a schema that keeps every field; names of the first identity. nil when
// fewer than two identities serve the key. x.mu must be held.
func (x *Index) metadataCRDLocked(key metadataKey) (*apiextensionsv1.CustomResourceDefinition, string) {
	hashes, prefix := x.metadataIdentitiesLocked(key)
	if len(hashes) < 2 {
		return nil, ""
	}
	var versions []string
	for _, h := range hashes {
		c := x.byName[key.name][h].crd
		for _, v := range c.Spec.Versions {
			versions = append(versions, v.Name)
		}
		versions = append(versions, c.Status.StoredVersions...)
	}
	slices.Sort(versions)
	versions = slices.Compact(versions)
	first := x.byName[key.name][hashes[0]].crd
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: key.name},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:      first.Spec.Group,
			Names:      first.Status.AcceptedNames,
			Scope:      apiextensionsv1.NamespaceScoped,
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter},
		},
	}
	crd.Status.AcceptedNames = crd.Spec.Names
	for i, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: i == 0,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object", XPreserveUnknownFields: &preserve,
			}},
		})
	}
	return crd, prefix
}

// endSiblingWildcardWatchesLocked ends the wildcard watches of the identities that share a new
// identity's storage: one of them alone may have served the metadata of all its accounts,
// which now takes the schema-less identity (and whole objects a 409). Clients list again.
// x.mu must be held.
func (x *Index) endSiblingWildcardWatchesLocked(i *identity) {
	for _, sibling := range x.byName[i.crd.Name] {
		if sibling == i || sibling.prefix != i.prefix {
			continue
		}
		if s := sibling.built.Load(); s != nil {
			s.watches.stop(cluster.Wildcard)
		}
	}
}
