package serviceaccount

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/reconciler/pernamespace"
)

const controllerName = "serviceaccount"

// Controller keeps a "default" ServiceAccount in every namespace of every account.
type Controller struct {
	*pernamespace.Controller
}

// New returns the controller. namespaces is the shared informer over the metadata of the
// namespaces of all accounts; New registers its handler, the caller runs it. Start runs the
// controller.
func New(f *client.Factory, namespaces *client.SharedInformer) (*Controller, error) {
	if f == nil || namespaces == nil {
		return nil, errors.New("failed to create the serviceaccount controller: no client factory or namespace informer")
	}
	// Only their existence matters: their metadata, selected by name, is enough.
	lw := f.MetadataListWatch(string(cluster.Wildcard), corev1.SchemeGroupVersion.WithResource("serviceaccounts"),
		fields.OneTermEqualSelector("metadata.name", DefaultName))
	serviceAccounts := client.NewSharedInformer(lw, &metav1.PartialObjectMetadata{})
	serviceAccounts.SetTransform(client.DropManagedFields)
	r := &reconciler{
		exists: func(id cluster.ID, namespace string) bool {
			_, ok := client.Get[metav1.Object](serviceAccounts.Store(), id, namespace, DefaultName)
			return ok
		},
		create: func(ctx context.Context, id cluster.ID, sa *corev1.ServiceAccount) error {
			_, err := f.CoreV1(string(id)).ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{})
			return err
		},
	}
	return &Controller{pernamespace.New(pernamespace.Options{
		Name: controllerName, Namespaces: namespaces, Objects: serviceAccounts, Ensure: r.ensure,
	})}, nil
}
