package account

import (
	"context"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	corev1alpha1client "github.com/accountmesh/accountmesh/pkg/client/clientset/versioned/typed/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// accountClient implements accountAPI with the typed client.
type accountClient struct {
	clients *client.Factory
}

func (a accountClient) accounts(id cluster.ID) corev1alpha1client.AccountInterface {
	return a.clients.AccountMesh(string(id)).CoreV1alpha1().Accounts()
}

func (a accountClient) UpdateStatus(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
	_, err := a.accounts(parent).UpdateStatus(ctx, acc, metav1.UpdateOptions{})
	return err
}

func (a accountClient) RemoveFinalizer(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
	updated := acc.DeepCopy()
	updated.Finalizers = slices.DeleteFunc(updated.Finalizers, func(f string) bool { return f == corev1alpha1.AccountFinalizer })
	_, err := a.accounts(parent).Update(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (a accountClient) ListChildren(ctx context.Context, id cluster.ID) ([]corev1alpha1.Account, error) {
	list, err := a.accounts(id).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (a accountClient) Delete(ctx context.Context, id cluster.ID, name string) error {
	err := a.accounts(id).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// contentClient implements contentAPI with the Account's content subresource.
type contentClient struct {
	clients *client.Factory
}

func (c contentClient) Purge(ctx context.Context, parent cluster.ID, name string) error {
	err := c.clients.AccountMesh(string(parent)).CoreV1alpha1().RESTClient().Delete().
		Resource("accounts").Name(name).SubResource("content").Do(ctx).Error()
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
