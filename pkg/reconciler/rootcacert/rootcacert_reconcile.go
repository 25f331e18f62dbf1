package rootcacert

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/controller"
)

const (
	// ConfigMapName is the name of the ConfigMap that holds the CA bundle in every namespace.
	ConfigMapName = "kube-root-ca.crt"
	// caCertKey is the key of the bundle in the ConfigMap.
	caCertKey = "ca.crt"
	// DescriptionAnnotation describes the ConfigMap's use, as upstream's does.
	DescriptionAnnotation = "kubernetes.io/description"
	// description is the value of DescriptionAnnotation.
	description = "Contains the CA bundle that clients of this account use to verify the API server's serving " +
		"certificate. No other use is guaranteed."
)

// reconciler keeps the CA bundle ConfigMap of namespaces current. Its function fields are the
// only way it reaches caches and the server.
type reconciler struct {
	// bundle is the PEM CA bundle to publish.
	bundle string
	// configMap returns the bundle ConfigMap of a namespace from the cache.
	configMap func(id cluster.ID, namespace string) (*corev1.ConfigMap, bool)
	create    func(ctx context.Context, id cluster.ID, cm *corev1.ConfigMap) error
	update    func(ctx context.Context, id cluster.ID, cm *corev1.ConfigMap) error
	// delete deletes the bundle ConfigMap of a namespace if it is still the given version.
	delete func(ctx context.Context, id cluster.ID, namespace string, uid types.UID, resourceVersion string) error
}

// ensure makes sure that an active namespace holds the bundle ConfigMap with the bundle.
func (r *reconciler) ensure(ctx context.Context, id cluster.ID, namespace string) error {
	cm, ok := r.configMap(id, namespace)
	switch {
	case !ok:
		return r.createConfigMap(ctx, id, namespace)
	case r.current(cm):
		return nil
	case cm.Immutable != nil && *cm.Immutable:
		// An immutable ConfigMap cannot be corrected: replace it.
		err := r.delete(ctx, id, namespace, cm.UID, cm.ResourceVersion)
		if err != nil && !apierrors.IsNotFound(err) {
			return retry(fmt.Errorf("failed to delete the immutable ConfigMap %s: %w", ConfigMapName, err))
		}
		klog.FromContext(ctx).V(2).Info("Deleted an immutable CA bundle ConfigMap with other content")
		return r.createConfigMap(ctx, id, namespace)
	default:
		if err := r.update(ctx, id, r.corrected(cm)); err != nil && !apierrors.IsNotFound(err) {
			return retry(fmt.Errorf("failed to update the ConfigMap %s: %w", ConfigMapName, err))
		}
		klog.FromContext(ctx).V(2).Info("Restored the CA bundle ConfigMap")
		return nil
	}
}

// current reports whether a bundle ConfigMap holds the bundle, only the bundle, and the
// description.
func (r *reconciler) current(cm *corev1.ConfigMap) bool {
	return len(cm.Data) == 1 && cm.Data[caCertKey] == r.bundle && len(cm.BinaryData) == 0 &&
		cm.Annotations[DescriptionAnnotation] == description && (cm.Immutable == nil || !*cm.Immutable)
}

// corrected returns a copy of cm with the bundle and the description, keeping the rest of its
// metadata.
func (r *reconciler) corrected(cm *corev1.ConfigMap) *corev1.ConfigMap {
	out := cm.DeepCopy()
	out.Data = map[string]string{caCertKey: r.bundle}
	out.BinaryData = nil
	out.Annotations = maps.Clone(out.Annotations)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[DescriptionAnnotation] = description
	return out
}

// createConfigMap creates the bundle ConfigMap in a namespace.
func (r *reconciler) createConfigMap(ctx context.Context, id cluster.ID, namespace string) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: namespace, Annotations: map[string]string{DescriptionAnnotation: description}},
		Data:       map[string]string{caCertKey: r.bundle},
	}
	err := r.create(ctx, id, cm)
	switch {
	case err == nil:
		klog.FromContext(ctx).V(2).Info("Published the CA bundle")
		return nil
	case apierrors.IsNotFound(err):
		// The namespace is gone.
		return nil
	case apierrors.IsAlreadyExists(err):
		// The cache is behind; the ConfigMap's event queues the namespace again.
		return nil
	default:
		return retry(fmt.Errorf("failed to create the ConfigMap %s: %w", ConfigMapName, err))
	}
}

// retry marks errors that are expected while the world converges, so that they are retried
// with backoff without being logged as failures: a write that lost a race, a namespace or
// account being deleted, or an admission policy of the account that refuses the write.
func retry(err error) error {
	if apierrors.IsConflict(err) || apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
		return controller.Expected(err)
	}
	return err
}
