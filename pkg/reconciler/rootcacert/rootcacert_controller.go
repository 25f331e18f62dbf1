package rootcacert

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/pernamespace"
)

const controllerName = "rootcacert"

// Controller publishes the CA bundle in every namespace of every account.
type Controller struct {
	*pernamespace.Controller
}

// New returns the controller, which publishes caBundle (PEM). namespaces is the shared informer
// over the metadata of the namespaces of all accounts; New registers its handler, the caller
// runs it. Start runs the controller.
func New(f *client.Factory, namespaces *client.SharedInformer, caBundle []byte) (*Controller, error) {
	if f == nil || namespaces == nil || len(caBundle) == 0 {
		return nil, errors.New("failed to create the rootcacert controller: no client factory, namespace informer or CA bundle")
	}
	lw, err := f.TypedListWatchSelected(string(cluster.Wildcard), corev1.SchemeGroupVersion, "configmaps",
		fields.OneTermEqualSelector("metadata.name", ConfigMapName))
	if err != nil {
		return nil, err
	}
	bundle := string(caBundle)
	configMaps := client.NewSharedInformer(lw, &corev1.ConfigMap{})
	configMaps.SetTransform(func(obj any) any { return shareBundle(client.DropManagedFields(obj), bundle) })
	r := &reconciler{
		bundle: bundle,
		configMap: func(id cluster.ID, namespace string) (*corev1.ConfigMap, bool) {
			return client.Get[*corev1.ConfigMap](configMaps.Store(), id, namespace, ConfigMapName)
		},
		create: func(ctx context.Context, id cluster.ID, cm *corev1.ConfigMap) error {
			_, err := f.CoreV1(string(id)).ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, id cluster.ID, cm *corev1.ConfigMap) error {
			_, err := f.CoreV1(string(id)).ConfigMaps(cm.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
			return err
		},
		delete: func(ctx context.Context, id cluster.ID, namespace string, uid types.UID, resourceVersion string) error {
			return f.CoreV1(string(id)).ConfigMaps(namespace).Delete(ctx, ConfigMapName, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &resourceVersion},
			})
		},
	}
	return &Controller{pernamespace.New(pernamespace.Options{
		Name: controllerName, Namespaces: namespaces, Objects: configMaps, Ensure: r.ensure,
	})}, nil
}

// shareBundle makes a cached ConfigMap that holds the bundle point at the one copy of it, so
// that the cache holds the bundle once, not once per namespace.
func shareBundle(obj any, bundle string) any {
	if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Data[caCertKey] == bundle {
		cm.Data[caCertKey] = bundle
	}
	return obj
}
