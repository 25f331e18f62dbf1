package managedservice

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

// Retries back off between these bounds.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = 10 * time.Second
)

// Indexes the controllers add to the shared informers.
const (
	// byProvider indexes bindings by the cluster ID of their export's account.
	byProvider = "accountmesh.io/managed-service-provider"
	// byTenantSpace indexes bindings by "<clusterID>|<tenant space name>".
	byTenantSpace = "accountmesh.io/tenant-space"
	// byConsumerOrg indexes shadow accounts by "<parent clusterID>|<org clusterID>" and by
	// "<org clusterID>", and every account by "parent:<parent clusterID>" when it is a shadow.
	byConsumerOrg = "accountmesh.io/consumer-org"
	// byAccount indexes ServiceInstances by the cluster ID of their (shadow) account.
	byAccount = "accountmesh.io/account"
)

// Informers are the shared informers the controllers read: exports, bindings and
// ServiceInstances in all accounts, Account objects, and the metadata of namespaces.
type Informers struct {
	Exports, Bindings, Instances, Accounts, Namespaces *client.SharedInformer
}

// Controller runs the shadow account and tenant space controllers.
type Controller struct {
	informers Informers
	accounts  Accounts
	shadows   *controller.Queue[pair]
	bindings  *controller.Queue[string]
}

// pair is the key of the shadow account controller: a provider account and a consumer
// organisation.
type pair struct{ provider, org cluster.ID }

// New returns the controllers. It adds indexes to the informers, so it must be called before
// they run.
func New(f *client.Factory, accounts Accounts, inf Informers) (*Controller, error) {
	c := &Controller{informers: inf, accounts: accounts}
	if err := inf.Bindings.Store().AddIndexers(cache.Indexers{
		byProvider: func(obj interface{}) ([]string, error) {
			if b, ok := obj.(*apisv1alpha1.APIBinding); ok && b.Status.ExportClusterID != "" {
				return []string{b.Status.ExportClusterID}, nil
			}
			return nil, nil
		},
		byTenantSpace: func(obj interface{}) ([]string, error) {
			if b, ok := obj.(*apisv1alpha1.APIBinding); ok && b.Spec.Reference.Export != nil {
				return []string{clusterOf(b) + "|" + TenantSpaceName(b.Spec.Reference.Export.Name)}, nil
			}
			return nil, nil
		},
	}); err != nil {
		return nil, fmt.Errorf("failed to index APIBindings: %w", err)
	}
	if err := inf.Accounts.Store().AddIndexers(cache.Indexers{byConsumerOrg: func(obj interface{}) ([]string, error) {
		acc, ok := obj.(*corev1alpha1.Account)
		if !ok || acc.Labels[corev1alpha1.ConsumerOrgLabel] == "" {
			return nil, nil
		}
		org := acc.Labels[corev1alpha1.ConsumerOrgLabel]
		parent := clusterOf(acc)
		return []string{parent + "|" + org, org, "parent:" + parent}, nil
	}}); err != nil {
		return nil, fmt.Errorf("failed to index Accounts: %w", err)
	}

	if err := inf.Instances.Store().AddIndexers(cache.Indexers{byAccount: func(obj interface{}) ([]string, error) {
		if si, ok := obj.(*apisv1alpha1.ServiceInstance); ok {
			return []string{clusterOf(si)}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("failed to index ServiceInstances: %w", err)
	}
	managed := func(b *apisv1alpha1.APIBinding) (*apisv1alpha1.APIExport, bool) {
		if b.Status.ExportClusterID == "" || b.Status.IdentityHash == "" || b.Spec.Reference.Export == nil {
			return nil, false
		}
		e, ok := client.Get[*apisv1alpha1.APIExport](inf.Exports.Store(), cluster.ID(b.Status.ExportClusterID), "", b.Spec.Reference.Export.Name)
		if !ok || e.Spec.Service == nil || e.Status.IdentityHash != b.Status.IdentityHash {
			return nil, false
		}
		return e, true
	}
	account := func(parent cluster.ID, name string) (*corev1alpha1.Account, bool) {
		return client.Get[*corev1alpha1.Account](inf.Accounts.Store(), parent, "", name)
	}
	shadowRec := &shadowReconciler{
		accounts: accounts,
		bindings: func(provider cluster.ID) []consumerBinding {
			objs, _ := inf.Bindings.Store().ByIndex(byProvider, string(provider))
			out := make([]consumerBinding, 0, len(objs))
			for _, obj := range objs {
				if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
					out = append(out, consumerBinding{account: cluster.ID(clusterOf(b)), binding: b})
				}
			}
			return out
		},
		managed: managed,
		account: account,
		create: func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
			_, err := f.AccountMesh(string(parent)).CoreV1alpha1().Accounts().Create(ctx, acc, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// The cache is behind; the Account's event queues the pair again.
				return nil
			}
			return err
		},
		update: func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
			_, err := f.AccountMesh(string(parent)).CoreV1alpha1().Accounts().Update(ctx, acc, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
			err := f.AccountMesh(string(parent)).CoreV1alpha1().Accounts().Delete(ctx, acc.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &acc.UID},
			})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		},
		updateStatus: func(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
			_, err := f.AccountMesh(string(parent)).CoreV1alpha1().Accounts().UpdateStatus(ctx, acc, metav1.UpdateOptions{})
			return err
		},
		instances: func(shadow cluster.ID) []*apisv1alpha1.ServiceInstance {
			objs, _ := inf.Instances.Store().ByIndex(byAccount, string(shadow))
			out := make([]*apisv1alpha1.ServiceInstance, 0, len(objs))
			for _, obj := range objs {
				if si, ok := obj.(*apisv1alpha1.ServiceInstance); ok {
					out = append(out, si)
				}
			}
			return out
		},
		createInstance: func(ctx context.Context, shadow cluster.ID, si *apisv1alpha1.ServiceInstance) error {
			_, err := f.AccountMesh(string(shadow)).ApisV1alpha1().ServiceInstances().Create(ctx, si, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		},
		deleteInstance: func(ctx context.Context, shadow cluster.ID, si *apisv1alpha1.ServiceInstance) error {
			err := f.AccountMesh(string(shadow)).ApisV1alpha1().ServiceInstances().Delete(ctx, si.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &si.UID},
			})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		},
	}
	c.shadows = controller.NewQueue(controller.Options[pair]{
		Name: "shadowaccount",
		Reconcile: func(ctx context.Context, p pair) (time.Duration, error) {
			return 0, ignoreConflict(shadowRec.reconcile(ctx, p.provider, p.org))
		},
		RateLimiter: controller.ExponentialBackoff[pair](minRetryDelay, maxRetryDelay),
	})

	bindingRec := &bindingReconciler{
		accounts: accounts,
		managed:  managed,
		account:  account,
		instance: func(shadow cluster.ID, name string) (*apisv1alpha1.ServiceInstance, bool) {
			return client.Get[*apisv1alpha1.ServiceInstance](inf.Instances.Store(), shadow, "", name)
		},
		namespace: func(id cluster.ID, name string) (*metav1.PartialObjectMetadata, bool) {
			return client.Get[*metav1.PartialObjectMetadata](inf.Namespaces.Store(), id, "", name)
		},
		createNamespace: func(ctx context.Context, id cluster.ID, ns *corev1.Namespace) error {
			_, err := f.CoreV1(string(id)).Namespaces().Create(ctx, ns, metav1.CreateOptions{})
			return err
		},
		addOwner: func(ctx context.Context, id cluster.ID, ns *metav1.PartialObjectMetadata, owner metav1.OwnerReference) error {
			patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
				"uid": ns.UID, "resourceVersion": ns.ResourceVersion,
				"ownerReferences": append(append([]metav1.OwnerReference{}, ns.OwnerReferences...), owner),
			}})
			if err != nil {
				return err
			}
			_, err = f.CoreV1(string(id)).Namespaces().Patch(ctx, ns.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		updateStatus: func(ctx context.Context, id cluster.ID, b *apisv1alpha1.APIBinding) error {
			_, err := f.AccountMesh(string(id)).ApisV1alpha1().APIBindings().UpdateStatus(ctx, b, metav1.UpdateOptions{})
			return err
		},
	}
	c.bindings = controller.NewQueue(controller.Options[string]{
		Name: "tenantspace",
		Reconcile: func(ctx context.Context, key string) (time.Duration, error) {
			id, _, name, err := client.SplitClusterKey(key)
			if err != nil {
				return 0, nil
			}
			b, ok := client.Get[*apisv1alpha1.APIBinding](inf.Bindings.Store(), id, "", name)
			if !ok {
				return 0, nil
			}
			return 0, ignoreConflict(bindingRec.reconcile(ctx, id, b))
		},
		RateLimiter: controller.ExponentialBackoff[string](minRetryDelay, maxRetryDelay),
	})

	inf.Bindings.AddEventHandler(handler(c.bindingChanged))
	inf.Exports.AddEventHandler(handler(c.exportChanged))
	inf.Accounts.AddEventHandler(handler(c.accountChanged))
	inf.Namespaces.AddEventHandler(handler(c.namespaceChanged))
	inf.Instances.AddEventHandler(handler(c.instanceChanged))
	return c, nil
}

// Start runs the controllers until ctx is done, once the informers have synced.
func (c *Controller) Start(ctx context.Context, workers int) {
	i := c.informers
	if !cache.WaitForCacheSync(ctx.Done(), i.Exports.HasSynced, i.Bindings.HasSynced, i.Instances.HasSynced, i.Accounts.HasSynced, i.Namespaces.HasSynced) {
		return
	}
	go c.shadows.Run(ctx, workers)
	go c.bindings.Run(ctx, workers)
}

// bindingChanged queues the binding and the shadow account of its organisation; a deleted
// binding, whose organisation may be gone, queues every shadow account of the provider.
func (c *Controller) bindingChanged(obj interface{}, deleted bool) {
	b, ok := obj.(*apisv1alpha1.APIBinding)
	if !ok {
		return
	}
	c.bindings.Add(client.ToClusterKey(cluster.ID(clusterOf(b)), "", b.Name))
	if b.Status.ExportClusterID == "" {
		return
	}
	provider := cluster.ID(b.Status.ExportClusterID)
	if org, ok := ConsumerOrg(c.accounts, cluster.ID(clusterOf(b))); ok {
		c.shadows.Add(pair{provider: provider, org: org.ID})
	}
	if deleted || b.DeletionTimestamp != nil {
		c.queueShadows("parent:" + string(provider))
	}
}

// exportChanged queues the bindings of the export and the shadow accounts of its account.
func (c *Controller) exportChanged(obj interface{}, _ bool) {
	e, ok := obj.(*apisv1alpha1.APIExport)
	if !ok {
		return
	}
	provider := clusterOf(e)
	objs, _ := c.informers.Bindings.Store().ByIndex(byProvider, provider)
	for _, obj := range objs {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok && b.Spec.Reference.Export != nil && b.Spec.Reference.Export.Name == e.Name {
			c.bindingChanged(b, false)
		}
	}
	c.queueShadows("parent:" + provider)
}

// accountChanged queues, for a shadow account, its pair and the bindings it serves; for any
// other account, the shadow accounts of the organisation it is (an organisation being deleted
// takes its shadow accounts with it).
func (c *Controller) accountChanged(obj interface{}, _ bool) {
	acc, ok := obj.(*corev1alpha1.Account)
	if !ok {
		return
	}
	if org := acc.Labels[corev1alpha1.ConsumerOrgLabel]; org != "" {
		c.queuePair(cluster.ID(clusterOf(acc)), cluster.ID(org))
		return
	}
	if acc.Status.ClusterID != "" {
		c.queueShadows(acc.Status.ClusterID)
	}
}

// instanceChanged queues the pair of the shadow account a ServiceInstance lives in, and the
// bindings it serves.
func (c *Controller) instanceChanged(obj interface{}, _ bool) {
	si, ok := obj.(*apisv1alpha1.ServiceInstance)
	if !ok {
		return
	}
	if e, ok := c.accounts.Lookup(cluster.ID(clusterOf(si))); ok && e.Shadow != nil {
		c.queuePair(e.Parent, e.Shadow.ConsumerOrg)
	}
}

// queuePair queues the pair of a provider account and a consumer organisation, and the
// bindings of the organisation to the provider's exports.
func (c *Controller) queuePair(provider, org cluster.ID) {
	c.shadows.Add(pair{provider: provider, org: org})
	objs, _ := c.informers.Bindings.Store().ByIndex(byProvider, string(provider))
	for _, obj := range objs {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
			if o, ok := ConsumerOrg(c.accounts, cluster.ID(clusterOf(b))); ok && o.ID == org {
				c.bindings.Add(client.ToClusterKey(cluster.ID(clusterOf(b)), "", b.Name))
			}
		}
	}
}

// namespaceChanged queues the bindings whose tenant space has the namespace's name.
func (c *Controller) namespaceChanged(obj interface{}, _ bool) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	objs, _ := c.informers.Bindings.Store().ByIndex(byTenantSpace, clusterOf(m)+"|"+m.GetName())
	for _, obj := range objs {
		if b, ok := obj.(*apisv1alpha1.APIBinding); ok {
			c.bindings.Add(client.ToClusterKey(cluster.ID(clusterOf(b)), "", b.Name))
		}
	}
}

// queueShadows queues the pairs of the shadow accounts under an index value of byConsumerOrg.
func (c *Controller) queueShadows(value string) {
	objs, _ := c.informers.Accounts.Store().ByIndex(byConsumerOrg, value)
	for _, obj := range objs {
		if acc, ok := obj.(*corev1alpha1.Account); ok {
			c.shadows.Add(pair{provider: cluster.ID(clusterOf(acc)), org: cluster.ID(acc.Labels[corev1alpha1.ConsumerOrgLabel])})
		}
	}
}

// ignoreConflict drops a conflict: the cache is behind, and the next event queues the key again.
func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// handler calls f with the object of every event, tombstones unwrapped, and whether it was
// deleted.
func handler(f func(obj interface{}, deleted bool)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { f(obj, false) },
		UpdateFunc: func(_, obj interface{}) { f(obj, false) },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			f(obj, true)
		},
	}
}

// clusterOf returns the account an object lives in.
func clusterOf(m metav1.Object) string {
	return m.GetAnnotations()[corev1alpha1.ClusterAnnotation]
}
