package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options/encryptionconfig"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	"github.com/accountmesh/accountmesh/pkg/admission/crdgroup"
	"github.com/accountmesh/accountmesh/pkg/admission/namespacelifecycle"
	"github.com/accountmesh/accountmesh/pkg/admission/rbacescalation"
	"github.com/accountmesh/accountmesh/pkg/admission/resourcequota"
	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/discovery"
	"github.com/accountmesh/accountmesh/pkg/objectcount"
	"github.com/accountmesh/accountmesh/pkg/openapi"
	"github.com/accountmesh/accountmesh/pkg/reconciler/account"
	"github.com/accountmesh/accountmesh/pkg/reconciler/accountindex"
	"github.com/accountmesh/accountmesh/pkg/reconciler/admissionpolicy"
	"github.com/accountmesh/accountmesh/pkg/reconciler/garbagecollector"
	"github.com/accountmesh/accountmesh/pkg/reconciler/initializer"
	"github.com/accountmesh/accountmesh/pkg/reconciler/invite"
	"github.com/accountmesh/accountmesh/pkg/reconciler/managedservice"
	"github.com/accountmesh/accountmesh/pkg/reconciler/namespace"
	"github.com/accountmesh/accountmesh/pkg/reconciler/orchestration"
	quotacontroller "github.com/accountmesh/accountmesh/pkg/reconciler/resourcequota"
	"github.com/accountmesh/accountmesh/pkg/reconciler/rootcacert"
	"github.com/accountmesh/accountmesh/pkg/reconciler/serviceaccount"
	"github.com/accountmesh/accountmesh/pkg/reconciler/storageversionmigration"
	"github.com/accountmesh/accountmesh/pkg/registry/accountmesh"
	"github.com/accountmesh/accountmesh/pkg/registry/admissionregistration"
	"github.com/accountmesh/accountmesh/pkg/registry/apiextensions"
	"github.com/accountmesh/accountmesh/pkg/registry/coordination"
	"github.com/accountmesh/accountmesh/pkg/registry/core"
	registryflowcontrol "github.com/accountmesh/accountmesh/pkg/registry/flowcontrol"
	"github.com/accountmesh/accountmesh/pkg/registry/marketplace"
	"github.com/accountmesh/accountmesh/pkg/registry/rbac"
	"github.com/accountmesh/accountmesh/pkg/registry/storagemigration"
	"github.com/accountmesh/accountmesh/pkg/scheme"
	"github.com/accountmesh/accountmesh/pkg/storage"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// apiServer is the assembled Account Mesh: the generic API server with every API group, the
// account index, the shared informers and the in-process controllers. Run builds it from the
// started dependencies and serves it.
type apiServer struct {
	Options CompletedOptions
	// Generic is the generic API server configuration.
	Generic *genericapiserver.Config
	// Index maps account paths to cluster IDs.
	Index *cluster.Index
	// ExternalURL is the base URL clients use, e.g. https://127.0.0.1:6443.
	ExternalURL string

	storage   storage.RESTOptionsGetter
	purger    *storage.Purger
	authn     *authn
	authz     *authorization.Authorizer
	admission *namespacelifecycle.Plugin
	crdGroups *crdgroup.Plugin
	// policies enforce every account's ValidatingAdmissionPolicies.
	policies *admissionPolicies
	// webhooks call every account's admission webhooks.
	webhooks *admissionWebhooks
	// quotaAdmission enforces every account's ResourceQuotas; quotas caches them.
	quotaAdmission *resourcequota.Plugin
	// objects counts every account's objects, for their limits.
	objects *objectcount.Counter
	quotas  *client.SharedInformer
	// discovery serves per-account /apis; its sources are set once the server exists.
	discovery *discovery.Discovery
	// openapi serves per-account OpenAPI v3 and v2; its sources are set once the server exists.
	openapi *openapi.OpenAPI
	// views and viewWatches serve provider views; views reads the informers of crds.go.
	views       *view.Exports
	viewWatches *view.Watches
	// flowControlHooks start API priority and fairness (withFlowControl).
	flowControlHooks map[string]genericapiserver.PostStartHookFunc

	generic *genericapiserver.GenericAPIServer
	clients *client.Factory
	// accounts is the one cache of Account objects that the index and the controllers share.
	accounts *client.SharedInformer
	// accountTypes caches every AccountType, for the built-in initializers.
	accountTypes *client.SharedInformer
	// namespaces caches the metadata of every namespace, for the controllers that work per
	// namespace.
	namespaces *client.SharedInformer
	// caBundle is the CA bundle published in every namespace.
	caBundle  []byte
	lifecycle *account.Controller
	// replicaID is this replica's identity in the election of the controllers' leader.
	replicaID string
	election  election
	crds      *customResources
	// services connects the consumers of managed services: shadow accounts and tenant spaces.
	services *managedservice.Controller
	// serviceInstances is the informer of ServiceInstances in all accounts.
	serviceInstances *client.SharedInformer
	// marketplace wakes the marketplace's watches when what entries are computed from changes.
	marketplace *marketplace.Notifier
	// builtinGroups are the API groups installed so far.
	builtinGroups []string
	// escalation is the RBAC escalation admission plugin, which also says whether a user may
	// grant a role (invites).
	escalation *rbacescalation.Plugin
	// invites grants a user's invites when they sign in to the console.
	invites *invite.Acceptor
}

// newAPIServer assembles the API server over the started dependencies d: authentication, the
// generic configuration and its completion, storage, the API groups, the account index and the
// controllers (started by post-start hooks on the replica that holds their lease; lost is
// called when that lease is lost). Building storage starts the watch caches.
func newAPIServer(ctx context.Context, c completedConfig, d *dependencies, lost func()) (*apiServer, error) {
	s := &apiServer{Options: c.Options, Index: cluster.NewIndex(d.root), ExternalURL: d.externalURL, caBundle: d.caBundle,
		marketplace: marketplace.NewNotifier()}
	var err error
	if s.authn, err = newAuthentication(ctx, c.Options.Authentication, d.serviceAccountKey, s.Index); err != nil {
		return nil, err
	}
	s.views, s.viewWatches = &view.Exports{}, &view.Watches{}
	s.authz = authorization.NewAuthorizer(authorization.NewPolicy(s.Index), s.views)
	s.admission = namespacelifecycle.New()
	s.crdGroups = crdgroup.New()
	s.policies = newAdmissionPolicies(s.Index)
	objectcount.Register()
	s.objects = objectcount.New(d.etcdClient, c.Options.EtcdPrefix, s.Index, int64(c.Options.DefaultMaxObjectsPerAccount))
	s.webhooks = newAdmissionWebhooks(s.Index, c.Options.AdmissionWebhookAllowLoopback)
	s.discovery, s.openapi = &discovery.Discovery{}, openapi.New()
	if s.Generic, err = s.genericConfig(d.listener, d.externalAddress, d.pki, s.authn); err != nil {
		return nil, err
	}
	sc := storagebackend.NewDefaultConfig(c.Options.EtcdPrefix, nil)
	sc.Transport.ServerList = d.etcd.Endpoints
	sc.Transport.TrustedCAFile, sc.Transport.CertFile, sc.Transport.KeyFile = d.etcd.CAFile, d.etcd.CertFile, d.etcd.KeyFile
	// Upstream's compactor: one per etcd client configuration, shared by every resource and
	// custom resource; replicas agree through a revision key in etcd which of them compacts.
	sc.CompactionInterval = c.Options.EtcdCompactionInterval
	prefixes := &storage.Prefixes{}
	s.storage = storage.RESTOptionsGetter{Config: *sc, Scheme: scheme.Scheme, Codecs: scheme.Codecs, Prefixes: prefixes,
		Uncached: []schema.GroupResource{apiextensionsv1.Resource("customresourcedefinitions")}}
	if d.encryption != nil {
		s.storage.Transformers = encryptionconfig.StaticTransformers(d.encryption.Transformers)
		// As kube-apiserver: a KMS plugin that does not answer makes the server unready and
		// unhealthy, not dead.
		s.Generic.HealthzChecks = append(s.Generic.HealthzChecks, d.encryption.HealthChecks...)
		s.Generic.ReadyzChecks = append(s.Generic.ReadyzChecks, d.encryption.HealthChecks...)
	}
	s.purger = &storage.Purger{Client: d.etcdClient, EtcdPrefix: c.Options.EtcdPrefix, Prefixes: prefixes}

	completed := s.Generic.Complete(nil)
	// Outermost, after completion has put the loopback token in front, so that it sees the
	// loopback client too: the in-process controllers impersonate users.
	s.Generic.Authentication.Authenticator = authentication.WithImpersonator(s.Generic.Authentication.Authenticator)
	if s.generic, err = completed.New("accountmesh", genericapiserver.NewEmptyDelegate()); err != nil {
		return nil, fmt.Errorf("failed to create generic API server: %w", err)
	}
	if err := s.installAPIs(); err != nil {
		return nil, err
	}
	if err := s.installProviderAPIs(); err != nil {
		return nil, err
	}
	if err := s.installAuthenticationAPIs(); err != nil {
		return nil, err
	}
	if err := s.installOrchestrationAPIs(); err != nil {
		return nil, err
	}
	if s.clients, err = client.NewFactory(s.Generic.LoopbackClientConfig); err != nil {
		return nil, err
	}
	s.invites = invite.NewAcceptor(s.clients, s.escalation.CheckGrant, s.Index)
	if err := s.installAuthorization(); err != nil {
		return nil, err
	}
	if err := s.watchAdmissionPolicies(); err != nil {
		return nil, err
	}
	if err := s.watchAdmissionWebhooks(); err != nil {
		return nil, err
	}
	if err := s.watchQuotas(); err != nil {
		return nil, err
	}
	accountsLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), corev1alpha1.SchemeGroupVersion, "accounts")
	if err != nil {
		return nil, err
	}
	s.accounts = client.NewSharedInformer(accountsLW, &corev1alpha1.Account{})
	accountindex.Register(s.Index, s.accounts)
	typesLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), corev1alpha1.SchemeGroupVersion, "accounttypes")
	if err != nil {
		return nil, err
	}
	s.accountTypes = client.NewSharedInformer(typesLW, &corev1alpha1.AccountType{})
	s.namespaces = client.NewSharedInformer(s.clients.MetadataListWatch(string(cluster.Wildcard),
		corev1.SchemeGroupVersion.WithResource("namespaces"), fields.Everything()), &metav1.PartialObjectMetadata{})
	s.namespaces.SetTransform(client.DropManagedFields)
	types := initializer.NewTypes(s.clients, s.accountTypes, s.Index)
	s.objects.SetTypes(types)
	s.startObjectCount()
	s.lifecycle = account.New(s.clients, s.Index, s.ExternalURL, s.accounts, initializer.Builtin(s.clients, types)...)
	if s.crds, err = s.newCustomResources(); err != nil {
		return nil, err
	}
	instancesLW, err := s.clients.TypedListWatch(string(cluster.Wildcard), apisv1alpha1.SchemeGroupVersion, "serviceinstances")
	if err != nil {
		return nil, err
	}
	s.serviceInstances = client.NewSharedInformer(instancesLW, &apisv1alpha1.ServiceInstance{})
	if s.services, err = managedservice.New(s.clients, s.Index, managedservice.Informers{
		Exports: s.crds.apis.Exports, Bindings: s.crds.apis.Bindings, Instances: s.serviceInstances,
		Accounts: s.accounts, Namespaces: s.namespaces,
	}); err != nil {
		return nil, err
	}
	if err := s.installMarketplace(); err != nil {
		return nil, err
	}
	// After the API server has drained, before etcd stops.
	s.generic.RegisterDestroyFunc(s.crds.index.Destroy)
	for name, hook := range s.flowControlHooks {
		s.generic.AddPostStartHookOrDie(name, hook)
	}
	s.generic.AddPostStartHookOrDie("accountmesh-account-index", s.startIndex)
	s.generic.AddPostStartHookOrDie("accountmesh-bootstrap-root", s.bootstrapRoot)
	s.generic.AddPostStartHookOrDie("accountmesh-admission", s.startAdmission)
	if s.replicaID, err = replicaID(c.Options.RootDir); err != nil {
		return nil, err
	}
	electionCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.election = election{ctx: electionCtx, stop: stop, done: make(chan struct{}), lost: lost}
	s.generic.AddPostStartHookOrDie("accountmesh-controllers", s.startElection)
	s.generic.AddPreShutdownHookOrDie("accountmesh-controllers", s.stopElection)
	return s, nil
}

func (s *apiServer) installAPIs() error {
	getter := s.storage
	coreStorage, err := core.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	if err := s.addServiceAccountTokens(coreStorage); err != nil {
		return err
	}
	rbacStorage, err := rbac.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	rbac.WithBuiltinClusterRoles(rbacStorage, s.authz.Policy(), s.Index)
	coordinationStorage, err := coordination.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	flowcontrolStorage, err := registryflowcontrol.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	migrationStorage, err := storagemigration.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	crdStorage, err := apiextensions.NewStorage(scheme.Scheme, getter)
	if err != nil {
		return err
	}
	admissionStorage, err := admissionregistration.NewStorage(scheme.Scheme, getter, s.webhooks.egress.CheckURL)
	if err != nil {
		return err
	}
	accountStorage, err := accountmesh.NewStorage(scheme.Scheme, getter, s.Index, s.ExternalURL, s.Generic.Authorization.Authorizer, s.purger.Purge, s.objects)
	if err != nil {
		return err
	}

	legacy := genericapiserver.NewDefaultAPIGroupInfo(corev1.GroupName, scheme.Scheme, metav1.ParameterCodec, scheme.Codecs)
	legacy.VersionedResourcesStorageMap[corev1.SchemeGroupVersion.Version] = coreStorage
	if err := s.generic.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &legacy); err != nil {
		return fmt.Errorf("failed to install the core API group: %w", err)
	}

	return s.installGroups(
		apiGroup{rbacv1.SchemeGroupVersion, rbacStorage},
		apiGroup{coordinationv1.SchemeGroupVersion, coordinationStorage},
		// events.k8s.io serves the core events storage.
		apiGroup{eventsv1.SchemeGroupVersion, map[string]rest.Storage{"events": coreStorage["events"]}},
		apiGroup{corev1alpha1.SchemeGroupVersion, accountStorage},
		apiGroup{apiextensionsv1.SchemeGroupVersion, crdStorage},
		apiGroup{flowcontrolv1.SchemeGroupVersion, flowcontrolStorage},
		apiGroup{storagemigrationv1.SchemeGroupVersion, migrationStorage},
		apiGroup{admissionregistrationv1.SchemeGroupVersion, admissionStorage},
	)
}

// apiGroup is the storage of one version of a built-in API group.
type apiGroup struct {
	gv       schema.GroupVersion
	storages map[string]rest.Storage
}

// installGroups installs built-in API groups and records them as built-in, so that CRDs cannot
// claim them. Our own groups (*.accountmesh.io), whose types have no protobuf encoding, are
// served in JSON and YAML only.
func (s *apiServer) installGroups(groups ...apiGroup) error {
	infos := make([]*genericapiserver.APIGroupInfo, 0, len(groups))
	for _, g := range groups {
		info := genericapiserver.NewDefaultAPIGroupInfo(g.gv.Group, scheme.Scheme, metav1.ParameterCodec, scheme.Codecs)
		info.VersionedResourcesStorageMap[g.gv.Version] = g.storages
		if strings.HasSuffix(g.gv.Group, ".accountmesh.io") {
			info.NegotiatedSerializer = withoutProtobuf{scheme.Codecs}
		}
		infos = append(infos, &info)
		s.builtinGroups = append(s.builtinGroups, g.gv.Group)
	}
	if err := s.generic.InstallAPIGroups(infos...); err != nil {
		return fmt.Errorf("failed to install API groups: %w", err)
	}
	// accountmesh.io itself holds the server's own records in etcd.
	s.crdGroups.SetBuiltinGroups(append(s.builtinGroups, "accountmesh.io")...)
	return nil
}

// withoutProtobuf serves a group whose types have no protobuf encoding in JSON and YAML only,
// so that a client accepting protobuf first (the metadata client, which the garbage collector
// and the namespace controller delete with) is answered in JSON instead of an encoding error.
type withoutProtobuf struct {
	runtime.NegotiatedSerializer
}

// SupportedMediaTypes implements runtime.NegotiatedSerializer.
func (w withoutProtobuf) SupportedMediaTypes() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, info := range w.NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeProtobuf {
			out = append(out, info)
		}
	}
	return out
}

// startIndex runs the shared Account informer, which feeds the account index, and holds
// readiness until it has synced.
func (s *apiServer) startIndex(hookCtx genericapiserver.PostStartHookContext) error {
	go s.accounts.Run(hookCtx.Context)
	go s.accountTypes.Run(hookCtx.Context)
	if !cache.WaitForCacheSync(hookCtx.Done(), s.accounts.HasSynced, s.accountTypes.HasSynced) {
		return fmt.Errorf("account index did not sync")
	}
	return s.crds.start(hookCtx.Context)
}

// bootstrapRoot makes sure the root account has its default namespace and the built-in
// account types. Existing objects are left as they are: operators may have changed them.
func (s *apiServer) bootstrapRoot(hookCtx genericapiserver.PostStartHookContext) error {
	f := s.clients
	root := string(s.Index.Root())
	kube := f.Kube(root)
	types := f.AccountMesh(root).CoreV1alpha1().AccountTypes()
	return wait.PollUntilContextTimeout(hookCtx.Context, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metav1.NamespaceDefault}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			klog.FromContext(ctx).V(2).Info("Waiting to create the root default namespace", "err", err)
			return false, nil
		}
		for _, t := range accounttype.Builtin() {
			_, err = types.Create(ctx, t, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				klog.FromContext(ctx).V(2).Info("Waiting to create the built-in account types", "err", err)
				return false, nil
			}
		}
		return true, nil
	})
}

// startAdmission starts the informers of the admission plugins, on every replica.
func (s *apiServer) startAdmission(hookCtx genericapiserver.PostStartHookContext) error {
	s.admission.Start(hookCtx.Context, s.clients)
	return nil
}

// runControllers starts the in-process controllers, which run until ctx is done: on the
// replica that holds the controllers' lease (leader.go). Readiness does not wait for them:
// every replica serves, one of them runs the controllers.
func (s *apiServer) runControllers(ctx context.Context) error {
	f := s.clients
	namespaces, err := namespace.New(f, s.namespaces)
	if err != nil {
		return err
	}
	serviceAccounts, err := serviceaccount.New(f, s.namespaces)
	if err != nil {
		return err
	}
	rootCA, err := rootcacert.New(f, s.namespaces, s.caBundle)
	if err != nil {
		return err
	}
	go s.namespaces.Run(ctx)
	namespaces.Start(ctx, 4)
	go serviceAccounts.Start(ctx, 2)
	go rootCA.Start(ctx, 2)
	gc, err := garbagecollector.New(f, string(cluster.Wildcard), garbagecollector.Informers{
		CRDs: s.crds.informer, Bindings: s.crds.apis.Bindings, Schemas: s.crds.apis.Schemas,
	})
	if err != nil {
		return err
	}
	gc.Start(ctx, 2)
	orchestrations, err := orchestration.New(f, s.Index, s.crds.apis.Bindings, s.crds.informer)
	if err != nil {
		return err
	}
	go orchestrations.Start(ctx, 2)
	migrations, err := storageversionmigration.New(f)
	if err != nil {
		return err
	}
	go migrations.Start(ctx, 2)
	typeChecking, err := admissionpolicy.New(f, s.policies.policies)
	if err != nil {
		return err
	}
	go typeChecking.Start(ctx, 1)
	quotas, err := quotacontroller.New(f, s.quotas)
	if err != nil {
		return err
	}
	go quotas.Start(ctx, 2)
	invites, err := invite.New(f)
	if err != nil {
		return err
	}
	go invites.Start(ctx, 1)
	s.crds.startControllers(ctx)
	go s.serviceInstances.Run(ctx)
	go s.services.Start(ctx, 4)
	return s.lifecycle.Start(ctx, 16)
}
