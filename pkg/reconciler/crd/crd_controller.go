package crd

import (
	"context"
	"fmt"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const (
	controllerName = "crd"
	// byGroup indexes the shared CRD cache by account and group.
	byGroup = "accountmesh.io/cluster-group"
)

// Retries back off between these bounds; a terminating CRD whose instances have finalizers is
// rechecked at most every maxRetryDelay.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = 10 * time.Second
)

// Served reports whether the dynamic handler serves an account's CRD with its current accepted
// names.
type Served func(id cluster.ID, crd *apiextensionsv1.CustomResourceDefinition) bool

// Bound returns the resources bindings serve in a group of an account, as CRDs.
type Bound func(id cluster.ID, group string) []*apiextensionsv1.CustomResourceDefinition

// Claim makes an account's CRD the owner of its group/resource; if another owner (an
// APIBinding) holds it, it returns a description of that owner and false.
type Claim func(id cluster.ID, crd *apiextensionsv1.CustomResourceDefinition) (owner string, ok bool)

// Controller maintains the status of the CRDs of every account.
type Controller struct {
	crds       *client.SharedInformer
	queue      *controller.Queue[string]
	reconciler *reconciler
	// groups serializes the CRDs of one group in one account, so that two of them never both
	// win the same name; different groups and accounts proceed in parallel.
	groups keyedMutex
}

// keyedMutex is a set of mutexes by key, dropped when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns the unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		defer k.mu.Unlock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
	}
}

// New returns the controller. crds is the shared informer over CRDs in all accounts; the
// controller adds an index to it, so New must be called before it runs.
func New(f *client.Factory, crds *client.SharedInformer, served Served, claim Claim, bound Bound) (*Controller, error) {
	if err := crds.Store().AddIndexers(cache.Indexers{byGroup: func(obj interface{}) ([]string, error) {
		crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
		if !ok {
			return nil, nil
		}
		return []string{groupOf(crd.Annotations[corev1alpha1.ClusterAnnotation], crd.Spec.Group)}, nil
	}}); err != nil {
		return nil, fmt.Errorf("failed to index CRDs: %w", err)
	}
	c := &Controller{crds: crds}
	c.queue = controller.NewQueue(controller.Options[string]{
		Name:        controllerName,
		Reconcile:   c.process,
		RateLimiter: controller.ExponentialBackoff[string](minRetryDelay, maxRetryDelay),
	})
	c.reconciler = &reconciler{
		siblings: c.siblings,
		served: func(id string, crd *apiextensionsv1.CustomResourceDefinition) bool {
			return served(cluster.ID(id), crd)
		},
		claim: func(id string, crd *apiextensionsv1.CustomResourceDefinition) (string, bool) {
			return claim(cluster.ID(id), crd)
		},
		bound: func(id string, crd *apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
			var out []*apiextensionsv1.CustomResourceDefinition
			for _, b := range bound(cluster.ID(id), crd.Spec.Group) {
				if b.Spec.Names.Plural != crd.Spec.Names.Plural {
					out = append(out, b)
				}
			}
			return out
		},
		remaining: func(ctx context.Context, id string, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
			return DeleteInstances(ctx, f, id, crd)
		},
		updateStatus: func(ctx context.Context, id string, crd *apiextensionsv1.CustomResourceDefinition) error {
			cs, err := apiextensionsclient.NewForConfigAndClient(f.Config(id), f.HTTPClient())
			if err != nil {
				return err
			}
			_, err = cs.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, crd, metav1.UpdateOptions{})
			return err
		},
	}
	crds.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueObject,
		UpdateFunc: func(_, obj interface{}) { c.enqueueObject(obj) },
		DeleteFunc: func(obj interface{}) {
			// Names freed by a deleted CRD may be accepted for its siblings now.
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
				for _, s := range c.siblings(crd.Annotations[corev1alpha1.ClusterAnnotation], crd) {
					c.enqueueObject(s)
				}
			}
		},
	})
	return c, nil
}

// Enqueue queues the CRD name of account id, e.g. when the dynamic handler starts serving it.
func (c *Controller) Enqueue(id cluster.ID, name string) {
	c.queue.Add(client.ToClusterKey(id, "", name))
}

// EnqueueGroup queues the CRDs of a group in account id, e.g. when a bound resource of the group
// came or went.
func (c *Controller) EnqueueGroup(id cluster.ID, group string) {
	objs, err := c.crds.Store().ByIndex(byGroup, groupOf(string(id), group))
	if err != nil {
		return
	}
	for _, obj := range objs {
		c.enqueueObject(obj)
	}
}

func (c *Controller) enqueueObject(obj interface{}) {
	key, err := client.ClusterKey(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// siblings returns the other CRDs of crd's group in account id.
func (c *Controller) siblings(id string, crd *apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
	objs, err := c.crds.Store().ByIndex(byGroup, groupOf(id, crd.Spec.Group))
	if err != nil {
		return nil
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, o := range objs {
		if s, ok := o.(*apiextensionsv1.CustomResourceDefinition); ok && s.Name != crd.Name {
			out = append(out, s)
		}
	}
	return out
}

// Start starts workers, which run until ctx is done. The shared informer must be running.
func (c *Controller) Start(ctx context.Context, workers int) {
	go c.queue.Run(ctx, workers)
}

// process reconciles the CRD of key, holding the lock of its group in its account.
func (c *Controller) process(ctx context.Context, key string) (time.Duration, error) {
	obj, exists, err := c.crds.Store().GetByKey(key)
	if err != nil || !exists {
		return 0, nil
	}
	crd := obj.(*apiextensionsv1.CustomResourceDefinition)
	id, _, _, _ := client.SplitClusterKey(key)
	defer c.groups.lock(groupOf(string(id), crd.Spec.Group))()
	// Decide on the latest state: the cache may have moved on while waiting for the lock.
	obj, exists, err = c.crds.Store().GetByKey(key)
	if err != nil || !exists {
		return 0, nil
	}
	crd = obj.(*apiextensionsv1.CustomResourceDefinition)
	err = c.reconciler.reconcile(klog.NewContext(ctx, klog.FromContext(ctx).WithValues("cluster", id, "crd", crd.Name)), string(id), crd)
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// The cache is behind; the next event queues the CRD again.
		return 0, nil
	}
	return 0, err
}

// DeleteInstances deletes the custom resources of crd in account id and returns how many were
// there. Namespaced resources are deleted namespace by namespace, as deletecollection needs one.
func DeleteInstances(ctx context.Context, f *client.Factory, id string, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	version := ""
	for _, v := range crd.Spec.Versions {
		if v.Served {
			version = v.Name
			break
		}
	}
	if version == "" {
		return 0, nil
	}
	gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: version, Resource: crd.Status.AcceptedNames.Plural}
	res := f.Metadata(id).Resource(gvr)
	list, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("failed to list %s: %w", gvr.GroupResource(), err)
	}
	if len(list.Items) == 0 {
		return 0, nil
	}
	namespaces := sets.New[string]()
	for _, item := range list.Items {
		if item.DeletionTimestamp == nil {
			namespaces.Insert(item.Namespace)
		}
	}
	for ns := range namespaces {
		if err := res.Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return len(list.Items), fmt.Errorf("failed to delete %s: %w", gvr.GroupResource(), err)
		}
	}
	return len(list.Items), nil
}
