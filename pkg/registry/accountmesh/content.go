package accountmesh

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// PurgeFunc deletes everything stored in account id and returns how many objects it deleted.
type PurgeFunc func(ctx context.Context, id cluster.ID) (int64, error)

// Children tells whether an account has child accounts.
type Children interface {
	HasChildren(id cluster.ID) bool
}

// ContentREST serves DELETE accounts/<name>/content: it deletes everything the account holds,
// in every resource, at once. It is the last step of an account's deletion, allowed only once
// the account is being deleted and its child accounts are gone, and only to the platform
// (system:masters). Finalizers of objects inside the account do not hold it; terminators are
// the way to run cleanup that needs the content.
type ContentREST struct {
	accounts rest.Getter
	children Children
	purge    PurgeFunc
}

var _ rest.GracefulDeleter = &ContentREST{}

// New implements rest.Storage.
func (r *ContentREST) New() runtime.Object { return &corev1alpha1.Account{} }

// Destroy implements rest.Storage.
func (r *ContentREST) Destroy() {}

// Delete implements rest.GracefulDeleter.
func (r *ContentREST) Delete(ctx context.Context, name string, _ rest.ValidateObjectFunc, _ *metav1.DeleteOptions) (runtime.Object, bool, error) {
	gr := corev1alpha1.Resource("accounts")
	if u, ok := genericapirequest.UserFrom(ctx); !ok || !slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup) {
		return nil, false, apierrors.NewForbidden(gr, name, fmt.Errorf("only the platform may delete an account's content"))
	}
	obj, err := r.accounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	acc := obj.(*corev1alpha1.Account)
	if acc.DeletionTimestamp == nil {
		return nil, false, apierrors.NewConflict(gr, name, fmt.Errorf("the account is not being deleted"))
	}
	id := cluster.ID(acc.Status.ClusterID)
	if r.children.HasChildren(id) {
		return nil, false, apierrors.NewConflict(gr, name, fmt.Errorf("the account still has child accounts"))
	}
	n, err := r.purge(ctx, id)
	if err != nil {
		return nil, false, apierrors.NewInternalError(err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted account content", "path", acc.Status.Path, "objects", n)
	return acc, true, nil
}
