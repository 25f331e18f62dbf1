package orchestration

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/component-helpers/auth/rbac/validation"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/orchestration"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// selectorVerbs returns what the requester must be allowed on the kind of a selector member,
// in all namespaces of its account: get, list and watch, and delete when the context deletes
// its members.
func selectorVerbs(policy orchestrationv1alpha1.DeletionPolicy) []string {
	if policy == orchestrationv1alpha1.DeletionPolicyDelete {
		return []string{"get", "list", "watch", "delete"}
	}
	return []string{"get", "list", "watch"}
}

// memberVerbs returns what the requester must be allowed on every member: get and watch, and
// delete when the context deletes its members.
func memberVerbs(policy orchestrationv1alpha1.DeletionPolicy) []string {
	if policy == orchestrationv1alpha1.DeletionPolicyDelete {
		return []string{"get", "watch", "delete"}
	}
	return []string{"get", "watch"}
}

// REST is the storage of OrchestrationContexts: the typed store, with the check that the
// requesting user may read every member run after validation, on create and on updates that
// change the members. A refused context is Forbidden and nothing is stored.
type REST struct {
	*store.REST
	access *access
}

var (
	_ rest.Creater = &REST{}
	_ rest.Updater = &REST{}
)

// Create implements rest.Creater.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	return r.REST.Create(ctx, obj, func(ctx context.Context, obj runtime.Object) error {
		if createValidation != nil {
			if err := createValidation(ctx, obj); err != nil {
				return err
			}
		}
		return r.access.check(ctx, contextOf(obj))
	}, options)
}

// Update implements rest.Updater.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.REST.Update(ctx, name, objInfo, func(ctx context.Context, obj runtime.Object) error {
		if createValidation != nil {
			if err := createValidation(ctx, obj); err != nil {
				return err
			}
		}
		return r.access.check(ctx, contextOf(obj))
	}, func(ctx context.Context, obj, old runtime.Object) error {
		if updateValidation != nil {
			if err := updateValidation(ctx, obj, old); err != nil {
				return err
			}
		}
		if !accessChanged(contextOf(obj), contextOf(old)) {
			return nil
		}
		return r.access.check(ctx, contextOf(obj))
	}, forceAllowCreate, options)
}

// access decides whether the requesting user may group the members of a context.
type access struct {
	deps Deps
}

// check refuses a context unless the requesting user may get and watch (and, with the Delete
// policy, delete) every member in the member's account, and get, list and watch (and delete)
// the kind of every selector member in its account, through inherited bindings for a selector
// over a subtree. A member in an account that does not exist, of a kind the account does not
// serve, or that the user may not read all get the same answer, which names only the member's
// entry: nothing is revealed about other accounts or whether the object exists. Only once the
// user passes, a selector spanning or matching too much is refused as invalid.
func (a *access) check(ctx context.Context, c *orchestrationv1alpha1.OrchestrationContext) error {
	u, hasUser := genericapirequest.UserFrom(ctx)
	here, inAccount := cluster.FromContext(ctx)
	verbs := memberVerbs(c.Spec.DeletionPolicy)
	selectorVerbs := selectorVerbs(c.Spec.DeletionPolicy)
	var refused, refusedSelectors, refusedSubtrees []string
	var scope, caps field.ErrorList
	for i := range c.Spec.Members {
		m := &c.Spec.Members[i]
		entry := fmt.Sprintf("spec.members[%d] (%q)", i, m.Name)
		if m.Selector != nil {
			switch {
			case !hasUser || !inAccount:
				refusedSelectors = append(refusedSelectors, entry)
			case !a.allowedSelector(ctx, u, here, m.Selector, selectorVerbs):
				if m.Selector.Subtree {
					refusedSubtrees = append(refusedSubtrees, entry)
				} else {
					refusedSelectors = append(refusedSelectors, entry)
				}
			default:
				if err := a.selectorCaps(ctx, here, m, field.NewPath("spec", "members").Index(i).Child("selector")); err != nil {
					caps = append(caps, err)
				}
			}
			continue
		}
		if m.Ref == nil {
			continue
		}
		if !hasUser || !inAccount {
			refused = append(refused, entry)
			continue
		}
		allowed, namespaced := a.allowed(ctx, u, here, m.Ref, verbs)
		p := field.NewPath("spec", "members").Index(i).Child("ref", "namespace")
		switch {
		case !allowed:
			refused = append(refused, entry)
		case namespaced && m.Ref.Namespace == "":
			scope = append(scope, field.Required(p, fmt.Sprintf("member %q: kind %s is namespaced", m.Name, m.Ref.Kind)))
		case !namespaced && m.Ref.Namespace != "":
			scope = append(scope, field.Invalid(p, m.Ref.Namespace, fmt.Sprintf("member %q: kind %s is cluster-scoped", m.Name, m.Ref.Kind)))
		}
	}
	if len(refused)+len(refusedSelectors)+len(refusedSubtrees) == 0 {
		if errs := append(scope, caps...); len(errs) > 0 {
			return apierrors.NewInvalid(orchestrationv1alpha1.SchemeGroupVersion.WithKind("OrchestrationContext").GroupKind(), c.Name, errs)
		}
		return nil
	}
	var parts []string
	if len(refused) > 0 {
		parts = append(parts, fmt.Sprintf("%s %s", verbList(verbs), strings.Join(refused, ", ")))
	}
	if len(refusedSelectors) > 0 {
		parts = append(parts, fmt.Sprintf("%s the kind selected by %s", verbList(selectorVerbs), strings.Join(refusedSelectors, ", ")))
	}
	if len(refusedSubtrees) > 0 {
		parts = append(parts, fmt.Sprintf("%s, through inherited bindings, the kind selected by %s", verbList(selectorVerbs), strings.Join(refusedSubtrees, ", ")))
	}
	name := "<unknown>"
	if hasUser {
		name = u.GetName()
	}
	return apierrors.NewForbidden(orchestrationv1alpha1.Resource("orchestrationcontexts"), c.Name,
		fmt.Errorf("user %q may not %s", name, strings.Join(parts, "; nor ")))
}

// verbList writes verbs as a sentence: get and watch; get, watch and delete.
func verbList(verbs []string) string {
	if len(verbs) == 1 {
		return verbs[0]
	}
	return strings.Join(verbs[:len(verbs)-1], ", ") + " and " + verbs[len(verbs)-1]
}

// resource finds the resource of a kind in account (a path or ID; here when empty): false when
// the account does not exist or does not serve the kind.
func (a *access) resource(ctx context.Context, here cluster.ID, account, apiVersion, kind string) (cluster.ID, schema.GroupVersion, *metav1.APIResource, bool) {
	id := here
	if account != "" {
		var ok bool
		if id, ok = a.deps.Index.Resolve(account); !ok {
			return "", schema.GroupVersion{}, nil, false
		}
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return "", schema.GroupVersion{}, nil, false
	}
	res, ok := a.served(ctx, id, gv, kind)
	return id, gv, res, ok
}

// served returns the resource of a kind that account id serves.
func (a *access) served(ctx context.Context, id cluster.ID, gv schema.GroupVersion, kind string) (*metav1.APIResource, bool) {
	resources, err := a.deps.Resources(ctx, id, gv)
	if err != nil {
		return nil, false
	}
	for i := range resources {
		if resources[i].Kind == kind && !strings.Contains(resources[i].Name, "/") {
			return &resources[i], true
		}
	}
	return nil, false
}

// allowed reports whether u may perform verbs on the object ref names, from account here, and,
// when it may, whether its kind is namespaced. The namespace of a reference to a cluster-scoped
// kind is ignored, so that only those who may read such objects learn that it is one.
func (a *access) allowed(ctx context.Context, u user.Info, here cluster.ID, ref *orchestrationv1alpha1.MemberReference, verbs []string) (bool, bool) {
	id, gv, res, ok := a.resource(ctx, here, ref.Account, ref.APIVersion, ref.Kind)
	if !ok {
		return false, false
	}
	namespace := ""
	if res.Namespaced {
		namespace = ref.Namespace
	}
	for _, verb := range verbs {
		decision, _, err := a.deps.Authorizer.Authorize(cluster.WithCluster(ctx, id), authorizer.AttributesRecord{
			User: u, Verb: verb, APIGroup: gv.Group, APIVersion: gv.Version, Resource: res.Name,
			Namespace: namespace, Name: ref.Name, ResourceRequest: true,
		})
		if err != nil || decision != authorizer.DecisionAllow {
			return false, false
		}
	}
	return true, res.Namespaced
}

// allowedSelector reports whether u may perform verbs on every object of the kind sel selects,
// in all namespaces of its account, and, with subtree, through inherited bindings there:
// inherited ClusterRoleBindings apply in every account below, present and future, and RBAC
// never denies, so the user may then read the kind everywhere the selector reaches.
func (a *access) allowedSelector(ctx context.Context, u user.Info, here cluster.ID, sel *orchestrationv1alpha1.MemberSelector, verbs []string) bool {
	id, gv, res, ok := a.resource(ctx, here, sel.Account, sel.APIVersion, sel.Kind)
	if !ok {
		return false
	}
	for _, verb := range verbs {
		decision, _, err := a.deps.Authorizer.Authorize(cluster.WithCluster(ctx, id), authorizer.AttributesRecord{
			User: u, Verb: verb, APIGroup: gv.Group, APIVersion: gv.Version, Resource: res.Name, ResourceRequest: true,
		})
		if err != nil || decision != authorizer.DecisionAllow {
			return false
		}
	}
	if !sel.Subtree {
		return true
	}
	held, _ := validation.Covers(a.deps.Rules.RulesFor(u, id, "", true), []rbacv1.PolicyRule{{
		Verbs: verbs, APIGroups: []string{gv.Group}, Resources: []string{res.Name},
	}})
	return held
}

// selectorCaps refuses a selector that spans more than MaxSelectorAccounts accounts or
// matches more than MaxSelectorMatches objects; the user may read the kind in all of them.
func (a *access) selectorCaps(ctx context.Context, here cluster.ID, m *orchestrationv1alpha1.Member, p *field.Path) *field.Error {
	sel := m.Selector
	id, gv, _, ok := a.resource(ctx, here, sel.Account, sel.APIVersion, sel.Kind)
	if !ok {
		return nil
	}
	accounts := []cluster.ID{id}
	if sel.Subtree {
		var spans bool
		if accounts, spans = orchestration.Subtree(a.deps.Index, id, orchestrationv1alpha1.MaxSelectorAccounts); !spans {
			return field.Invalid(p.Child("subtree"), true, fmt.Sprintf("member %q: the selector spans more than %d accounts",
				m.Name, orchestrationv1alpha1.MaxSelectorAccounts))
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(sel.LabelSelector)
	if err != nil {
		return field.Invalid(p.Child("labelSelector"), sel.LabelSelector, err.Error())
	}
	matched := 0
	for _, acct := range accounts {
		res, ok := a.served(ctx, acct, gv, sel.Kind)
		if !ok {
			continue
		}
		n, err := a.deps.Count(ctx, acct, gv.WithResource(res.Name), selector.String(), orchestrationv1alpha1.MaxSelectorMatches-matched)
		if err != nil {
			return field.InternalError(p, fmt.Errorf("failed to count the objects member %q selects: %w", m.Name, err))
		}
		if matched += n; matched > orchestrationv1alpha1.MaxSelectorMatches {
			return field.Invalid(p.Child("labelSelector"), selector.String(), fmt.Sprintf("member %q: the selector matches more than %d objects",
				m.Name, orchestrationv1alpha1.MaxSelectorMatches))
		}
	}
	return nil
}
