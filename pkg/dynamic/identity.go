package dynamic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/managedfields"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilwaitgroup "k8s.io/apimachinery/pkg/util/waitgroup"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// IdentityOf returns the identity of a CRD: a hash of its spec and accepted names. Accounts
// whose CRDs have the same identity share everything built from it.
func IdentityOf(crd *apiextensionsv1.CustomResourceDefinition) (string, error) {
	b, err := json.Marshal(struct {
		Spec          *apiextensionsv1.CustomResourceDefinitionSpec  `json:"spec"`
		AcceptedNames *apiextensionsv1.CustomResourceDefinitionNames `json:"acceptedNames"`
	}{&crd.Spec, &crd.Status.AcceptedNames})
	if err != nil {
		return "", fmt.Errorf("failed to hash CRD %s: %w", crd.Name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// serving is what one CRD identity serves: per served version, the storage and request scopes.
type serving struct {
	schemas  *crdSchemas
	versions map[string]*servedVersion
	// requests counts the requests in flight, so the identity is torn down after they drain.
	requests utilwaitgroup.SafeWaitGroup
	// watches are the open watches, ended when their account leaves the identity.
	watches *watches
	release func()
	// raw is the shared storage; filled reports that its watch cache has filled once.
	raw    storage.Interface
	filled atomic.Bool
}

// firstFillWait bounds how long a request waits for the watch cache of a newly served identity
// to fill.
const firstFillWait = 5 * time.Second

// awaitFilled waits, until the watch cache has filled once, for it to fill, for ctx to end or
// for firstFillWait. A filling cache answers lists with 429 and Retry-After: 1, which clients
// honour by sleeping a full second: without the wait, the first requests after a CRD is
// established or an export is bound would take more than a second. Later refills (etcd lost
// the watch) answer as upstream does.
func (s *serving) awaitFilled(ctx context.Context) {
	if s.filled.Load() {
		return
	}
	err := wait.PollUntilContextTimeout(ctx, 2*time.Millisecond, firstFillWait, true, func(context.Context) (bool, error) {
		return s.raw.ReadinessCheck() == nil, nil
	})
	if err == nil {
		s.filled.Store(true)
	}
}

// servedVersion holds the storages and request scopes of one served version.
type servedVersion struct {
	storage                        customresource.CustomResourceStorage
	scope, statusScope, scaleScope *handlers.RequestScope
	// warning is the deprecation warning of the version, if deprecated.
	warning string
}

// servingDeps are what building the serving of an identity needs from the server.
type servingDeps struct {
	raws                *rawStorages
	authorizer          authorizer.Authorizer
	maxRequestBodyBytes int64
}

// newServing builds the serving of a CRD whose objects are stored under prefix. member reports
// which accounts serve this identity; cross-account reads show only their objects.
func (d servingDeps) newServing(crd *apiextensionsv1.CustomResourceDefinition, prefix string, member func(cluster.ID) bool) (_ *serving, err error) {
	schemas, err := newCRDSchemas(crd)
	if err != nil {
		return nil, err
	}
	names := crd.Status.AcceptedNames
	gr := schema.GroupResource{Group: crd.Spec.Group, Resource: names.Plural}
	raw, release, err := d.raws.acquire(gr, prefix)
	if err != nil {
		return nil, fmt.Errorf("failed to create storage for %s: %w", gr, err)
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	storageVersion, err := apihelpers.GetCRDStorageVersion(crd)
	if err != nil {
		return nil, err
	}
	s := &serving{schemas: schemas, versions: map[string]*servedVersion{}, release: release, watches: &watches{}, raw: raw}
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	replicasPaths := replicasPathMapping(crd)
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
		kind := gv.WithKind(names.Kind)
		parameterScheme := runtime.NewScheme()
		parameterScheme.AddUnversionedTypes(gv, &metav1.ListOptions{}, &metav1.GetOptions{}, &metav1.DeleteOptions{})
		t := newTyper(parameterScheme)

		val, err := apihelpers.GetSchemaForVersion(crd, v.Name)
		if err != nil {
			return nil, err
		}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
			return nil, fmt.Errorf("failed to convert the schema of version %s: %w", v.Name, err)
		}
		validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("failed to build the validator of version %s: %w", v.Name, err)
		}
		sub, err := apihelpers.GetSubresourcesForVersion(crd, v.Name)
		if err != nil {
			return nil, err
		}
		var statusSpec *apiextensionsinternal.CustomResourceSubresourceStatus
		var statusValidator apiservervalidation.SchemaValidator
		if sub != nil && sub.Status != nil {
			statusSpec = &apiextensionsinternal.CustomResourceSubresourceStatus{}
			if st, ok := internal.OpenAPIV3Schema.Properties["status"]; ok {
				if statusValidator, _, err = apiservervalidation.NewSchemaValidator(&st); err != nil {
					return nil, fmt.Errorf("failed to build the status validator of version %s: %w", v.Name, err)
				}
			}
		}
		var scaleSpec *apiextensionsinternal.CustomResourceSubresourceScale
		if sub != nil && sub.Scale != nil {
			scaleSpec = &apiextensionsinternal.CustomResourceSubresourceScale{}
			if err := apiextensionsv1.Convert_v1_CustomResourceSubresourceScale_To_apiextensions_CustomResourceSubresourceScale(sub.Scale, scaleSpec, nil); err != nil {
				return nil, err
			}
		}
		columns := v.AdditionalPrinterColumns
		if len(columns) == 0 {
			columns = []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"}}
		}
		table, err := tableconvertor.New(columns)
		if err != nil {
			return nil, fmt.Errorf("failed to build the printer columns of version %s: %w", v.Name, err)
		}
		strategy := customresource.NewStrategy(t, namespaced, kind, validator, statusValidator, schemas.structural[v.Name], statusSpec, scaleSpec, v.SelectableFields)
		getter := restOptionsGetter{base: d.raws.base, prefix: prefix, newStorage: func() storage.Interface {
			return &schemaStorage{raw: raw, schemas: schemas, served: gv, storageGV: schema.GroupVersion{Group: crd.Spec.Group, Version: storageVersion},
				kind: names.Kind, member: member, watches: s.watches}
		}}
		st, err := customresource.NewStorage(gr, schema.GroupResource{Group: gr.Group, Resource: names.Singular}, kind, gv.WithKind(names.ListKind),
			strategy, getter, names.Categories, table, replicasPaths)
		if err != nil {
			return nil, fmt.Errorf("failed to create the storage of version %s: %w", v.Name, err)
		}
		sv := &servedVersion{storage: st}
		if v.Deprecated {
			sv.warning = fmt.Sprintf("%s %s is deprecated", gv, names.Kind)
			if v.DeprecationWarning != nil {
				sv.warning = *v.DeprecationWarning
			}
		}

		ns := newNegotiatedSerializer(t, schemas.safe, schemas)
		var standard []runtime.SerializerInfo
		for _, m := range ns.SupportedMediaTypes() {
			if m.MediaType != runtime.ContentTypeProtobuf {
				standard = append(standard, m)
			}
		}
		equivalent := runtime.NewEquivalentResourceRegistry()
		equivalent.RegisterKindFor(gv.WithResource(names.Plural), "", kind)
		equivalent.RegisterKindFor(gv.WithResource(names.Plural), "status", kind)
		equivalent.RegisterKindFor(gv.WithResource(names.Plural), "scale", autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
		scope := handlers.RequestScope{
			Namer:                    handlers.ContextBasedNaming{Namer: meta.NewAccessor(), ClusterScoped: !namespaced},
			Serializer:               ns,
			ParameterCodec:           runtime.NewParameterCodec(parameterScheme),
			StandardSerializers:      standard,
			Creater:                  unstructuredCreator{},
			Convertor:                schemas.safe,
			Defaulter:                defaulter{delegate: parameterScheme, schemas: schemas},
			Typer:                    t,
			UnsafeConvertor:          schemas.unsafe,
			EquivalentResourceMapper: equivalent,
			Resource:                 gv.WithResource(names.Plural),
			Kind:                     kind,
			HubGroupVersion:          gv,
			MetaGroupVersion:         metav1.SchemeGroupVersion,
			TableConvertor:           st.CustomResource,
			Authorizer:               d.authorizer,
			MaxRequestBodyBytes:      d.maxRequestBodyBytes,
		}
		if scope.FieldManager, err = managedfields.NewDefaultCRDFieldManager(schemas.typeConverter, scope.Convertor, scope.Defaulter, scope.Creater, kind, gv, "",
			fieldpath.NewExcludeFilterSetMap(st.CustomResource.GetResetFields())); err != nil {
			return nil, fmt.Errorf("failed to create the field manager of version %s: %w", v.Name, err)
		}
		sv.scope = &scope
		if st.Status != nil {
			ss := scope
			ss.Subresource = "status"
			if ss.FieldManager, err = managedfields.NewDefaultCRDFieldManager(schemas.typeConverter, scope.Convertor, scope.Defaulter, scope.Creater, kind, gv, "status",
				fieldpath.NewExcludeFilterSetMap(st.Status.GetResetFields())); err != nil {
				return nil, fmt.Errorf("failed to create the status field manager of version %s: %w", v.Name, err)
			}
			sv.statusScope = &ss
		}
		if st.Scale != nil {
			sc := scope
			sc.Subresource = "scale"
			sc.Serializer = serializer.NewCodecFactory(scale.NewScaleConverter().Scheme())
			sc.Kind = autoscalingv1.SchemeGroupVersion.WithKind("Scale")
			sc.TableConvertor = scaleTable
			// Managed fields of the scale subresource are tracked on the custom resource, in
			// its own version.
			if sc.FieldManager, err = managedfields.NewDefaultCRDFieldManager(schemas.typeConverter, scope.Convertor, scope.Defaulter, scope.Creater, sc.Kind,
				gv, "scale", nil); err != nil {
				return nil, fmt.Errorf("failed to create the scale field manager of version %s: %w", v.Name, err)
			}
			sv.scaleScope = &sc
		}
		s.versions[v.Name] = sv
	}
	return s, nil
}

// scaleTable prints Scale objects: desired and available replicas.
var scaleTable = func() rest.TableConvertor {
	t, err := tableconvertor.New([]apiextensionsv1.CustomResourceColumnDefinition{
		{Name: "Desired", Type: "integer", JSONPath: ".spec.replicas"},
		{Name: "Available", Type: "integer", JSONPath: ".status.replicas"},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	})
	utilruntime.Must(err)
	return t
}()

// replicasPathMapping maps each version with a scale subresource to the path of its replicas,
// for server-side apply of the scale subresource.
func replicasPathMapping(crd *apiextensionsv1.CustomResourceDefinition) managedfields.ResourcePathMappings {
	m := managedfields.ResourcePathMappings{}
	for _, v := range crd.Spec.Versions {
		gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
		sub, err := apihelpers.GetSubresourcesForVersion(crd, v.Name)
		if err != nil || sub == nil || sub.Scale == nil {
			m[gv.String()] = nil
			continue
		}
		p := fieldpath.Path{}
		for _, el := range strings.Split(strings.TrimPrefix(sub.Scale.SpecReplicasPath, "."), ".") {
			p = append(p, fieldpath.PathElement{FieldName: &el})
		}
		m[gv.String()] = p
	}
	return m
}

// destroy ends the watches and releases the raw storage once the requests in flight are done,
// waiting at most timeout for them.
func (s *serving) destroy(timeout time.Duration) {
	s.watches.stopAll()
	done := make(chan struct{})
	go func() {
		s.requests.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
	s.release()
}

// restOptionsGetter gives upstream's custom resource stores our schema layer as storage.
type restOptionsGetter struct {
	base storagebackend.Config
	// prefix is the key prefix of the objects.
	prefix     string
	newStorage func() storage.Interface
}

// GetRESTOptions implements generic.RESTOptionsGetter.
func (g restOptionsGetter) GetRESTOptions(gr schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	cfg := g.base.ForResource(gr)
	cfg.Codec = unstructured.UnstructuredJSONScheme
	return generic.RESTOptions{
		StorageConfig: cfg,
		Decorator: func(*storagebackend.ConfigForResource, string, func(runtime.Object) (string, error), func() runtime.Object, func() runtime.Object,
			storage.AttrFunc, storage.IndexerFuncs, *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
			// The raw storage is shared and released with the identity, not with the store.
			return g.newStorage(), func() {}, nil
		},
		// Orphan and foreground deletions leave their finalizer to the garbage collector, which
		// watches custom resources as it watches built-ins.
		EnableGarbageCollection: true,
		DeleteCollectionWorkers: 4,
		ResourcePrefix:          g.prefix,
	}, nil
}
