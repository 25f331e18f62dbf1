package rbac

import (
	"context"
	"errors"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// BuiltinLabel marks the built-in ClusterRoles, which exist in every account without being
// stored.
const BuiltinLabel = "accountmesh.io/built-in"

// RoleRules gives the effective rules of an account's ClusterRole, aggregation included.
type RoleRules interface {
	ClusterRoleRules(id cluster.ID, name string) ([]rbacv1.PolicyRule, bool)
}

// Accounts tells when an account was created: its built-in roles exist since then.
type Accounts interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// builtinClusterRoles shows the built-in ClusterRoles (admin, edit, view, system:auth-delegator)
// in get and list, as a real cluster shows its default roles, with the rules they have in the
// request's account. They cannot be created, changed or deleted (validation refuses the names;
// deleting one finds nothing stored).
type builtinClusterRoles struct {
	*store.REST
	rules    RoleRules
	accounts Accounts
	// started stands in for the creation time of root, which has no Account object.
	started time.Time
}

// WithBuiltinClusterRoles makes the clusterroles storage of storages show the built-in roles.
func WithBuiltinClusterRoles(storages map[string]rest.Storage, rules RoleRules, accounts Accounts) {
	if s, ok := storages["clusterroles"].(*store.REST); ok {
		storages["clusterroles"] = &builtinClusterRoles{REST: s, rules: rules, accounts: accounts, started: time.Now()}
	}
}

// builtin returns the built-in role name as seen in the request's account.
func (b *builtinClusterRoles) builtin(ctx context.Context, name string) (*rbacv1.ClusterRole, bool) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard || !authorization.IsBuiltinRole(name) {
		return nil, false
	}
	rules, ok := b.rules.ClusterRoleRules(id, name)
	if !ok {
		return nil, false
	}
	created := b.started
	if e, ok := b.accounts.Lookup(id); ok && !e.Created.IsZero() {
		created = e.Created
	}
	role := &rbacv1.ClusterRole{
		TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			CreationTimestamp: metav1.NewTime(created),
			Labels:            map[string]string{BuiltinLabel: "true"},
			Annotations:       map[string]string{"accountmesh.io/description": "Built-in role of every account."},
		},
		Rules: rules,
	}
	if label, ok := authorization.AggregationLabel(name); ok {
		role.Annotations["accountmesh.io/description"] = "Built-in role of every account; ClusterRoles labelled " + label + "=true add to it."
		role.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchLabels: map[string]string{label: "true"}},
		}}
	}
	return role, true
}

// Get implements rest.Getter.
func (b *builtinClusterRoles) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	if r, ok := b.builtin(ctx, name); ok {
		return r, nil
	}
	return b.REST.Get(ctx, name, options)
}

// Delete implements rest.GracefulDeleter: the built-in roles cannot be deleted.
func (b *builtinClusterRoles) Delete(ctx context.Context, name string, validate rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if _, ok := b.builtin(ctx, name); ok {
		return nil, false, apierrors.NewForbidden(rbacv1.Resource("clusterroles"), name,
			errors.New("it is a built-in ClusterRole of every account and cannot be deleted"))
	}
	return b.REST.Delete(ctx, name, validate, options)
}

// List implements rest.Lister: the stored roles, plus the built-in ones that match the
// selectors on the first page.
func (b *builtinClusterRoles) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	obj, err := b.REST.List(ctx, options)
	if err != nil {
		return nil, err
	}
	list, ok := obj.(*rbacv1.ClusterRoleList)
	if !ok || (options != nil && options.Continue != "") {
		return obj, nil
	}
	label, field := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		label = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		field = options.FieldSelector
	}
	var builtins []rbacv1.ClusterRole
	for _, name := range authorization.BuiltinRoles() {
		r, ok := b.builtin(ctx, name)
		if ok && label.Matches(labels.Set(r.Labels)) && field.Matches(fields.Set{"metadata.name": r.Name}) {
			builtins = append(builtins, *r)
		}
	}
	list.Items = append(builtins, list.Items...)
	sort.SliceStable(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list, nil
}
