package accounttypedefaults

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

// escalation refuses ClusterRoles with a "*" verb, as the escalation check refuses them to a
// user who does not hold "*".
type escalation struct{}

func (escalation) Handles(admission.Operation) bool { return true }

func (escalation) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if r, ok := a.GetObject().(*rbacv1.ClusterRole); ok && len(r.Rules) > 0 && r.Rules[0].Verbs[0] == "*" {
		return admission.NewForbidden(a, errors.New("escalation"))
	}
	return nil
}

func TestValidate(t *testing.T) {
	t.Parallel()
	// The author may create configmaps and clusterroles in the type's account, nothing else.
	authz := authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		if a.GetVerb() == "create" && (a.GetResource() == "configmaps" && a.GetNamespace() == "default" || a.GetResource() == "clusterroles" && a.GetNamespace() == "") {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionDeny, "", nil
	})
	p := New(authz, escalation{})
	raw := func(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }
	configMap := raw(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`)
	secret := raw(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}`)
	viewRole := raw(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["configmaps"]}]}`)
	allRole := raw(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"},"rules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}]}`)
	typeOf := func(resources ...runtime.RawExtension) *corev1alpha1.AccountType {
		return &corev1alpha1.AccountType{ObjectMeta: metav1.ObjectMeta{Name: "t"}, Spec: corev1alpha1.AccountTypeSpec{DefaultResources: resources}}
	}
	for _, tc := range []struct {
		name      string
		obj, old  *corev1alpha1.AccountType
		forbidden string
	}{
		{name: "objects the author may create", obj: typeOf(configMap, viewRole)},
		{name: "an object the author may not create", obj: typeOf(configMap, secret), forbidden: "spec.defaultResources[1]"},
		{name: "an escalating role", obj: typeOf(allRole), forbidden: "escalation"},
		{name: "unchanged resources are not checked again", obj: typeOf(secret), old: typeOf(secret)},
		{name: "changed resources are", obj: typeOf(secret, configMap), old: typeOf(secret), forbidden: "spec.defaultResources[0]"},
		{name: "an object without a kind", obj: typeOf(raw(`{"apiVersion":"v1"}`)), forbidden: "needs an apiVersion and a kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := admission.Create
			var old runtime.Object
			if tc.old != nil {
				op, old = admission.Update, tc.old
			}
			a := admission.NewAttributesRecord(tc.obj, old, corev1alpha1.SchemeGroupVersion.WithKind("AccountType"), "", "t",
				corev1alpha1.SchemeGroupVersion.WithResource("accounttypes"), "", op, nil, false, &user.DefaultInfo{Name: "olive"})
			err := p.Validate(context.Background(), a, nil)
			if tc.forbidden == "" {
				require.NoError(t, err)
				return
			}
			require.True(t, apierrors.IsForbidden(err), "%v", err)
			require.ErrorContains(t, err, tc.forbidden)
		})
	}
}
