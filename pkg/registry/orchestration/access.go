package orchestration

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

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
// policy, delete) every member in the member's account. A member in an account that does not exist, of a kind the account does
// not serve, or that the user may not read all get the same answer, which names only the
// member's entry: nothing is revealed about other accounts or whether the object exists.
func (a *access) check(ctx context.Context, c *orchestrationv1alpha1.OrchestrationContext) error {
	u, hasUser := genericapirequest.UserFrom(ctx)
	here, inAccount := cluster.FromContext(ctx)
	verbs := memberVerbs(c.Spec.DeletionPolicy)
	var refused []string
	var scope field.ErrorList
	for i := range c.Spec.Members {
		m := &c.Spec.Members[i]
		if m.Ref == nil {
			continue
		}
		if !hasUser || !inAccount {
			refused = append(refused, fmt.Sprintf("spec.members[%d] (%q)", i, m.Name))
			continue
		}
		allowed, namespaced := a.allowed(ctx, u, here, m.Ref, verbs)
		p := field.NewPath("spec", "members").Index(i).Child("ref", "namespace")
		switch {
		case !allowed:
			refused = append(refused, fmt.Sprintf("spec.members[%d] (%q)", i, m.Name))
		case namespaced && m.Ref.Namespace == "":
			scope = append(scope, field.Required(p, fmt.Sprintf("member %q: kind %s is namespaced", m.Name, m.Ref.Kind)))
		case !namespaced && m.Ref.Namespace != "":
			scope = append(scope, field.Invalid(p, m.Ref.Namespace, fmt.Sprintf("member %q: kind %s is cluster-scoped", m.Name, m.Ref.Kind)))
		}
	}
	if len(refused) == 0 {
		if len(scope) > 0 {
			return apierrors.NewInvalid(orchestrationv1alpha1.SchemeGroupVersion.WithKind("OrchestrationContext").GroupKind(), c.Name, scope)
		}
		return nil
	}
	name := "<unknown>"
	if hasUser {
		name = u.GetName()
	}
	return apierrors.NewForbidden(orchestrationv1alpha1.Resource("orchestrationcontexts"), c.Name,
		fmt.Errorf("user %q may not %s %s", name, verbList(verbs), strings.Join(refused, ", ")))
}

// verbList writes verbs as a sentence: get and watch; get, watch and delete.
func verbList(verbs []string) string {
	if len(verbs) == 1 {
		return verbs[0]
	}
	return strings.Join(verbs[:len(verbs)-1], ", ") + " and " + verbs[len(verbs)-1]
}

// allowed reports whether u may perform verbs on the object ref names, from account here, and,
// when it may, whether its kind is namespaced. The namespace of a reference to a cluster-scoped
// kind is ignored, so that only those who may read such objects learn that it is one.
func (a *access) allowed(ctx context.Context, u user.Info, here cluster.ID, ref *orchestrationv1alpha1.MemberReference, verbs []string) (bool, bool) {
	id := here
	if ref.Account != "" {
		var ok bool
		if id, ok = a.deps.Index.Resolve(ref.Account); !ok {
			return false, false
		}
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, false
	}
	resources, err := a.deps.Resources(ctx, id, gv)
	if err != nil {
		return false, false
	}
	var res *metav1.APIResource
	for i := range resources {
		if resources[i].Kind == ref.Kind && !strings.Contains(resources[i].Name, "/") {
			res = &resources[i]
			break
		}
	}
	if res == nil {
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
