package initializer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/account"
)

// Builtin returns the built-in initializers, in the order they run. types resolves account
// types.
func Builtin(clients *client.Factory, types *Types) []account.Initializer {
	return []account.Initializer{
		{Name: corev1alpha1.InitializerNamespace, Work: func(ctx context.Context, acc *corev1alpha1.Account) error {
			return defaultNamespace(ctx, clients, acc)
		}},
		{Name: corev1alpha1.InitializerOwner, Work: func(ctx context.Context, acc *corev1alpha1.Account) error {
			return ownerBinding(ctx, clients, acc)
		}},
		{Name: corev1alpha1.InitializerResources, Work: func(ctx context.Context, acc *corev1alpha1.Account) error {
			return defaultResources(ctx, clients, types, acc)
		}},
	}
}

// defaultNamespace creates the account's default namespace.
func defaultNamespace(ctx context.Context, clients *client.Factory, acc *corev1alpha1.Account) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metav1.NamespaceDefault}}
	_, err := clients.CoreV1(acc.Status.ClusterID).Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the default namespace: %w", err)
	}
	return nil
}

// ownerBinding binds the owner to the admin ClusterRole in the account. The binding is
// inherited, so the owner administers the whole subtree.
func ownerBinding(ctx context.Context, clients *client.Factory, acc *corev1alpha1.Account) error {
	if acc.Spec.Owner == "" {
		return nil
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: corev1alpha1.OwnerBindingName, Labels: map[string]string{corev1alpha1.InheritLabel: "true"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: acc.Spec.Owner}},
	}
	_, err := clients.RbacV1(acc.Status.ClusterID).ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to bind the owner: %w", err)
	}
	return nil
}

// defaultResources creates the objects the account's type declares, each as the user who
// declared it (impersonated), so that it needs that user's rights in the new account and passes
// the same admission checks (RBAC escalation, bind) as if they created it themselves.
func defaultResources(ctx context.Context, clients *client.Factory, types *Types, acc *corev1alpha1.Account) error {
	parent, ok := acc.Annotations[corev1alpha1.ClusterAnnotation]
	if !ok {
		return fmt.Errorf("account %s has no %s annotation", acc.Name, corev1alpha1.ClusterAnnotation)
	}
	t, err := types.Resolve(ctx, cluster.ID(parent), acc.Spec.Type)
	if err != nil {
		return fmt.Errorf("failed to resolve account type %q: %w", acc.Spec.Type, err)
	}
	if len(t.DefaultResources) == 0 {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(clients.Config(acc.Status.ClusterID), clients.HTTPClient())
	if err != nil {
		return err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		return fmt.Errorf("failed to discover resources: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for i, r := range t.DefaultResources {
		if err := createDefaultResource(ctx, clients, mapper, acc, r); err != nil {
			return fmt.Errorf("default resource %d of account type %q: %w", i, r.Type, err)
		}
	}
	return nil
}

// createDefaultResource creates one default resource in the account, as its author.
func createDefaultResource(ctx context.Context, clients *client.Factory, mapper meta.RESTMapper, acc *corev1alpha1.Account, r accounttype.DefaultResource) error {
	author, err := definedBy(r)
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(r.Object.Raw, &obj.Object); err != nil {
		return fmt.Errorf("not a valid object: %w", err)
	}
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	d, err := clients.DynamicAs(acc.Status.ClusterID, author)
	if err != nil {
		return err
	}
	ri := d.Resource(m.Resource)
	var create func(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
		create = ri.Namespace(obj.GetNamespace()).Create
	} else {
		create = ri.Create
	}
	if _, err := create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create %s %s as %q: %w", gvk.Kind, obj.GetName(), author.Username, err)
	}
	return nil
}

// definedBy returns the user a default resource is created as: the author the server recorded
// on its AccountType. A resource without a recorded author, or whose author was confined to one
// account (a ServiceAccount, an impersonated user), is not created: neither holds anything in a
// new account.
func definedBy(r accounttype.DefaultResource) (*authenticationv1.UserInfo, error) {
	if r.DefinedBy == "" {
		return nil, fmt.Errorf("account type %q records no author of its default resources (annotation %s); apply its defaultResources again to record one",
			r.Type, corev1alpha1.DefinedByAnnotation)
	}
	u := &authenticationv1.UserInfo{}
	if err := json.Unmarshal([]byte(r.DefinedBy), u); err != nil || u.Username == "" {
		return nil, fmt.Errorf("account type %q has an unreadable %s annotation", r.Type, corev1alpha1.DefinedByAnnotation)
	}
	for k := range u.Extra {
		if authentication.IsReservedExtra(k) {
			return nil, fmt.Errorf("the default resources of account type %q were set by %q, whose rights are confined to one account", r.Type, u.Username)
		}
	}
	return u, nil
}

// apiTypes reads AccountTypes and parents through the API.
type apiTypes struct {
	clients *client.Factory
}

func (a apiTypes) Get(ctx context.Context, id cluster.ID, name string) (*corev1alpha1.AccountType, error) {
	t, err := a.clients.AccountMesh(string(id)).CoreV1alpha1().AccountTypes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read account type %q: %w", name, err)
	}
	return t, nil
}

func (a apiTypes) Parent(ctx context.Context, id cluster.ID) (cluster.ID, bool, error) {
	info, err := a.clients.AccountMesh(string(id)).CoreV1alpha1().AccountInfos().Get(ctx, corev1alpha1.AccountInfoName, metav1.GetOptions{})
	if err != nil {
		return "", false, fmt.Errorf("failed to read the account info of %s: %w", id, err)
	}
	parent := info.Spec.Parent
	if parent == nil || parent.ClusterID == "" {
		return "", false, nil
	}
	return cluster.ID(parent.ClusterID), true, nil
}

// Types resolves account types from a cache of every AccountType, with the tree from the
// account index, and through the API when the cache does not know a type yet.
type Types struct {
	store cache.Indexer
	index Lookup
	api   apiTypes
}

// Lookup finds an account by cluster ID.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// NewTypes returns a resolver over types, a shared informer of AccountTypes in all accounts.
func NewTypes(clients *client.Factory, types *client.SharedInformer, index Lookup) *Types {
	return &Types{store: types.Store(), index: index, api: apiTypes{clients: clients}}
}

// Resolve resolves type name from account from.
func (t *Types) Resolve(ctx context.Context, from cluster.ID, name string) (*accounttype.Type, error) {
	resolved, err := accounttype.Resolve(ctx, cachedTypes{t}, from, name)
	var nf *accounttype.NotFoundError
	if errors.As(err, &nf) {
		return accounttype.Resolve(ctx, t.api, from, name)
	}
	return resolved, err
}

// cachedTypes reads AccountTypes from the cache and parents from the index.
type cachedTypes struct {
	*Types
}

func (c cachedTypes) Get(_ context.Context, id cluster.ID, name string) (*corev1alpha1.AccountType, error) {
	obj, exists, err := c.store.GetByKey(client.ToClusterKey(id, "", name))
	if err != nil || !exists {
		return nil, err
	}
	t, ok := obj.(*corev1alpha1.AccountType)
	if !ok {
		return nil, fmt.Errorf("unexpected object %T in the account type cache", obj)
	}
	return t, nil
}

func (c cachedTypes) Parent(_ context.Context, id cluster.ID) (cluster.ID, bool, error) {
	e, ok := c.index.Lookup(id)
	if !ok {
		return "", false, fmt.Errorf("account %s is not known", id)
	}
	return e.Parent, e.Parent != "", nil
}
