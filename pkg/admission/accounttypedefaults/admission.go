// Package accounttypedefaults refuses an AccountType whose default resources its author could
// not create: setting spec.defaultResources needs the rights to create each object in the
// type's account, and the RBAC objects among them pass the same escalation check as if the
// author created them there (pkg/admission/rbacescalation). That is the check at definition;
// the one at use is the initializer creating each object as its author, in the new account
// (pkg/reconciler/initializer), so a type never creates more than its author holds there.
//
// It must not mutate objects; the server records the author (corev1alpha1.DefinedByAnnotation)
// in the AccountType strategy.
package accounttypedefaults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

// Plugin is the admission plugin.
type Plugin struct {
	*admission.Handler
	authz      authorizer.Authorizer
	escalation admission.ValidationInterface
}

var _ admission.ValidationInterface = &Plugin{}

// New returns the plugin: authz decides whether the author may create each object, escalation
// checks the RBAC objects.
func New(authz authorizer.Authorizer, escalation admission.ValidationInterface) *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update), authz: authz, escalation: escalation}
}

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != corev1alpha1.Resource("accounttypes") || a.GetSubresource() != "" {
		return nil
	}
	t, ok := a.GetObject().(*corev1alpha1.AccountType)
	if !ok || len(t.Spec.DefaultResources) == 0 || a.GetUserInfo() == nil {
		return nil
	}
	if old, ok := a.GetOldObject().(*corev1alpha1.AccountType); ok && apiequality.Semantic.DeepEqual(old.Spec.DefaultResources, t.Spec.DefaultResources) {
		return nil
	}
	for i, raw := range t.Spec.DefaultResources {
		if err := p.check(ctx, a, o, raw); err != nil {
			msg := err.Error()
			var status apierrors.APIStatus
			if errors.As(err, &status) {
				msg = status.Status().Message
			}
			return apierrors.NewForbidden(a.GetResource().GroupResource(), a.GetName(), fmt.Errorf("spec.defaultResources[%d]: %s", i, msg))
		}
	}
	return nil
}

// check decides one default resource as if the author created it in the type's account.
func (p *Plugin) check(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces, raw runtime.RawExtension) error {
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw.Raw, &obj.Object); err != nil {
		return fmt.Errorf("not a valid object: %w", err)
	}
	gvk := obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return fmt.Errorf("the object needs an apiVersion and a kind")
	}
	gvr, _ := meta.UnsafeGuessKindToResource(gvk)
	ns := obj.GetNamespace()
	if ns == "" && !clusterScoped[gvk.GroupKind().String()] {
		ns = metav1.NamespaceDefault
	}
	u := a.GetUserInfo()
	decision, _, err := p.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: "create", APIGroup: gvk.Group, APIVersion: gvk.Version, Resource: gvr.Resource,
		Namespace: ns, Name: obj.GetName(), ResourceRequest: true,
	})
	if err != nil || decision != authorizer.DecisionAllow {
		return fmt.Errorf("user %q may not create %s %q, so may not make it a default resource", u.GetName(), gvk.Kind, obj.GetName())
	}
	if gvk.Group != rbacv1.GroupName {
		return nil
	}
	typed, err := rbacObject(gvk.Kind, raw.Raw)
	if err != nil || typed == nil {
		return err
	}
	return p.escalation.Validate(ctx, admission.NewAttributesRecord(typed, nil, gvk, ns, obj.GetName(), gvr, "",
		admission.Create, &metav1.CreateOptions{}, false, u), o)
}

// clusterScoped are the cluster-scoped kinds a default resource may be, by group kind.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole.rbac.authorization.k8s.io": true, "ClusterRoleBinding.rbac.authorization.k8s.io": true,
	"CustomResourceDefinition.apiextensions.k8s.io": true, "Account.core.accountmesh.io": true, "AccountType.core.accountmesh.io": true,
	"APIBinding.apis.accountmesh.io": true, "APIExport.apis.accountmesh.io": true, "APIResourceSchema.apis.accountmesh.io": true,
	"IdentityProvider.iam.accountmesh.io": true,
}

// rbacObject decodes an RBAC object of kind, nil for other kinds.
func rbacObject(kind string, raw []byte) (runtime.Object, error) {
	var obj runtime.Object
	switch kind {
	case "Role":
		obj = &rbacv1.Role{}
	case "ClusterRole":
		obj = &rbacv1.ClusterRole{}
	case "RoleBinding":
		obj = &rbacv1.RoleBinding{}
	case "ClusterRoleBinding":
		obj = &rbacv1.ClusterRoleBinding{}
	default:
		return nil, nil
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("not a valid %s: %w", kind, err)
	}
	return obj, nil
}
