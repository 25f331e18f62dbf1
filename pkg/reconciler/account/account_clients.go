package account

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

var accountsGVR = corev1alpha1.SchemeGroupVersion.WithResource("accounts")

// accountClient implements accountAPI with the dynamic client.
type accountClient struct {
	clients *client.Factory
}

func (a accountClient) resource(id cluster.ID) dynamic.ResourceInterface {
	return a.clients.Dynamic(string(id)).Resource(accountsGVR)
}

func toUnstructured(acc *corev1alpha1.Account) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(acc)
	if err != nil {
		return nil, fmt.Errorf("failed to encode account %s: %w", acc.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(corev1alpha1.SchemeGroupVersion.WithKind("Account"))
	return u, nil
}

func (a accountClient) UpdateStatus(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
	u, err := toUnstructured(acc)
	if err != nil {
		return err
	}
	_, err = a.resource(parent).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	return err
}

func (a accountClient) RemoveFinalizer(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
	updated := acc.DeepCopy()
	updated.Finalizers = slices.DeleteFunc(updated.Finalizers, func(f string) bool { return f == corev1alpha1.AccountFinalizer })
	u, err := toUnstructured(updated)
	if err != nil {
		return err
	}
	_, err = a.resource(parent).Update(ctx, u, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (a accountClient) ListChildren(ctx context.Context, id cluster.ID) ([]corev1alpha1.Account, error) {
	list, err := a.resource(id).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]corev1alpha1.Account, len(list.Items))
	for i := range list.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &out[i]); err != nil {
			return nil, fmt.Errorf("failed to decode account %s: %w", list.Items[i].GetName(), err)
		}
	}
	return out, nil
}

func (a accountClient) Delete(ctx context.Context, id cluster.ID, name string) error {
	err := a.resource(id).Delete(ctx, name, metav1.DeleteOptions{})
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
	err := c.clients.Dynamic(string(parent)).Resource(accountsGVR).Delete(ctx, name, metav1.DeleteOptions{}, "content")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
