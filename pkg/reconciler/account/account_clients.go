package account

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
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

// contentClient implements contentAPI with discovery and the dynamic client.
type contentClient struct {
	clients *client.Factory
}

// resource is a discovered resource of an account.
type resource struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	verbs      []string
}

// resources discovers the deletable resources served in account id, accounts excluded: child
// accounts are deleted, and waited for, before the content.
func (c contentClient) resources(id cluster.ID) ([]resource, error) {
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(c.clients.Config(string(id)), c.clients.HTTPClient())
	if err != nil {
		return nil, fmt.Errorf("failed to create discovery client: %w", err)
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("failed to discover resources: %w", err)
	}
	var out []resource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			gvr := gv.WithResource(r.Name)
			if gvr.GroupResource() == accountsGVR.GroupResource() || !slices.Contains(r.Verbs, "delete") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			out = append(out, resource{gvr: gvr, namespaced: r.Namespaced, verbs: r.Verbs})
		}
	}
	return out, nil
}

func (c contentClient) DeleteAll(ctx context.Context, id cluster.ID) error {
	resources, err := c.resources(id)
	if err != nil {
		return err
	}
	d := c.clients.Dynamic(string(id))
	for _, r := range resources {
		if r.namespaced || !slices.Contains(r.verbs, "deletecollection") {
			// Namespaced objects go with their namespaces.
			continue
		}
		if err := d.Resource(r.gvr).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete %s: %w", r.gvr.GroupResource(), err)
		}
	}
	return nil
}

func (c contentClient) Remaining(ctx context.Context, id cluster.ID) ([]string, error) {
	resources, err := c.resources(id)
	if err != nil {
		return nil, err
	}
	d := c.clients.Dynamic(string(id))
	var remaining []string
	for _, r := range resources {
		list, err := d.Resource(r.gvr).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("failed to list %s: %w", r.gvr.GroupResource(), err)
		}
		if len(list.Items) > 0 {
			remaining = append(remaining, r.gvr.GroupResource().String())
		}
	}
	return remaining, nil
}
