// Package namespacelifecycle rejects the creation of namespaced objects in a namespace that does
// not exist or is being deleted, within the request's account, as a real cluster does
// (LocalSubjectAccessReviews, which store nothing, excepted). It reads
// namespaces from a cache fed by a watch across all accounts and confirms misses with a live
// read, since the cache may lag behind a namespace created a moment ago.
//
// It must not mutate objects and must not look at other accounts than the request's.
package namespacelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/tools/cache"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// PluginName is the name of the plugin.
const PluginName = "AccountNamespaceLifecycle"

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	// started is set by Start, after the server began serving requests.
	started atomic.Pointer[started]
}

type started struct {
	clients *client.Factory
	store   cache.Indexer
	synced  cache.InformerSynced
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin; it rejects nothing it cannot check until Start is called.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create)}
}

// Start starts the namespace cache on clients.
func (p *Plugin) Start(ctx context.Context, clients *client.Factory) {
	lw := cache.NewListWatchFromClient(clients.Kube(string(cluster.Wildcard)).CoreV1().RESTClient(), "namespaces", metav1.NamespaceAll, fields.Everything())
	store, inf := client.NewInformer(lw, &corev1.Namespace{}, cache.ResourceEventHandlerFuncs{}, nil)
	p.started.Store(&started{clients: clients, store: store, synced: inf.HasSynced})
	go inf.RunWithContext(ctx)
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	s := p.started.Load()
	if a.GetNamespace() == "" || a.GetKind().GroupKind() == corev1.SchemeGroupVersion.WithKind("Namespace").GroupKind() || s == nil {
		return nil
	}
	// As upstream, access reviews store nothing and are answered whether or not their namespace
	// exists: an answer about the namespace would tell whether it does.
	if a.GetResource().GroupResource() == authorizationv1.Resource("localsubjectaccessreviews") {
		return nil
	}
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil
	}
	ns, err := s.namespace(ctx, id, a.GetNamespace())
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(corev1.Resource("namespaces"), a.GetNamespace())
	}
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to look up namespace %q: %w", a.GetNamespace(), err))
	}
	if ns.DeletionTimestamp != nil {
		msg := fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", a.GetNamespace())
		err := admission.NewForbidden(a, errors.New(msg))
		// The cause tells clients, as upstream's, that the namespace is going away.
		if status := (*apierrors.StatusError)(nil); errors.As(err, &status) && status.ErrStatus.Details != nil {
			status.ErrStatus.Details.Causes = append(status.ErrStatus.Details.Causes, metav1.StatusCause{
				Type: corev1.NamespaceTerminatingCause, Message: msg, Field: "metadata.namespace",
			})
		}
		return err
	}
	return nil
}

// namespace returns the namespace from the cache, or from the API if the cache does not have it.
func (s *started) namespace(ctx context.Context, id cluster.ID, name string) (*corev1.Namespace, error) {
	if s.synced() {
		obj, exists, err := s.store.GetByKey(client.ToClusterKey(id, "", name))
		if err == nil && exists {
			return obj.(*corev1.Namespace), nil
		}
	}
	return s.clients.CoreV1(string(id)).Namespaces().Get(ctx, name, metav1.GetOptions{})
}

// Cached returns a namespace of account id from the plugin's cache, once started and synced.
// Callers must not change it.
func (p *Plugin) Cached(id cluster.ID, name string) (*corev1.Namespace, bool) {
	s := p.started.Load()
	if s == nil || !s.synced() {
		return nil, false
	}
	return client.Get[*corev1.Namespace](s.store, id, "", name)
}
