// Package orchestration serves the orchestration.accountmesh.io API: OrchestrationContexts.
// It validates them (member names, references, the dependency graph, readiness expressions,
// the member cap), decides with the requesting user's rights whether they may group the
// members they name (get and watch on each, in the member's account, with the same answer for
// a member that does not exist, an account that does not exist and one the user may not
// read), and records that user in the requester annotation, which only the server writes.
//
// It must not read the members; the orchestration controller does, and it reports only what
// the requester could read.
package orchestration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Index resolves accounts: a path or cluster ID to an ID, and an account to its children.
type Index interface {
	Resolve(pathOrID string) (cluster.ID, bool)
	Children(id cluster.ID) []cluster.ID
}

// Rules lists the rules a user holds in an account (pkg/authorization.Policy).
type Rules interface {
	// RulesFor returns the rules u holds in account id and namespace ns; with inheritedOnly,
	// only those of inherited bindings, which hold in every account below id too.
	RulesFor(u user.Info, id cluster.ID, ns string, inheritedOnly bool) []rbacv1.PolicyRule
}

// Deps are what the registry needs from the server.
type Deps struct {
	// Index resolves the accounts of members.
	Index Index
	// Authorizer decides whether the requesting user may get and watch each member.
	Authorizer authorizer.Authorizer
	// Resources returns the resources an account serves in a group version, as its discovery
	// lists them; a NotFound error when it serves none.
	Resources func(ctx context.Context, id cluster.ID, gv schema.GroupVersion) ([]metav1.APIResource, error)
	// Rules tells whether a selector member's verbs are granted through inherited bindings.
	Rules Rules
	// Count returns how many objects of a resource in an account, in all namespaces, match a
	// label selector, counting at most limit+1.
	Count func(ctx context.Context, id cluster.ID, gvr schema.GroupVersionResource, selector string, limit int) (int, error)
}

// NewStorage returns the storage of the orchestration.accountmesh.io/v1alpha1 resources.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, deps Deps) (map[string]rest.Storage, error) {
	storages, err := store.New(scheme, getter, contextOptions())
	if err != nil {
		return nil, err
	}
	r, ok := storages["orchestrationcontexts"].(*store.REST)
	if !ok {
		return nil, fmt.Errorf("failed to build storage for orchestrationcontexts: unexpected storage %T", storages["orchestrationcontexts"])
	}
	storages["orchestrationcontexts"] = &REST{REST: r, access: &access{deps: deps}}
	return storages, nil
}

func contextOf(obj runtime.Object) *orchestrationv1alpha1.OrchestrationContext {
	return obj.(*orchestrationv1alpha1.OrchestrationContext)
}

func contextOptions() store.Options {
	return store.Options{
		Resource:   orchestrationv1alpha1.Resource("orchestrationcontexts"),
		Singular:   "orchestrationcontext",
		New:        func() runtime.Object { return &orchestrationv1alpha1.OrchestrationContext{} },
		NewList:    func() runtime.Object { return &orchestrationv1alpha1.OrchestrationContextList{} },
		Namespaced: true,
		HasStatus:  true,
		// The finalizer is there from the start, so that even a context deleted at once
		// deletes its members or withdraws its dependency gates.
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			c := contextOf(obj)
			setDefaults(c)
			if !slices.Contains(c.Finalizers, orchestrationv1alpha1.Finalizer) {
				c.Finalizers = append(c.Finalizers, orchestrationv1alpha1.Finalizer)
			}
			setRequester(ctx, c, nil)
		},
		PrepareForUpdate: func(ctx context.Context, obj, old runtime.Object) {
			setDefaults(contextOf(obj))
			setRequester(ctx, contextOf(obj), contextOf(old))
		},
		Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
			return validateSpec(&contextOf(obj).Spec)
		},
		ShortNames: []string{"orch"},
		Categories: []string{"accountmesh"},
		Columns: []store.Column{
			{Name: "Ready", Type: "string", Description: "Ready members out of all members.", Value: func(obj runtime.Object) interface{} {
				c := contextOf(obj)
				return fmt.Sprintf("%d/%d", c.Status.ReadyMembers, len(c.Spec.Members))
			}},
		},
	}
}

// setDefaults sets the deletion policy to Orphan when it is empty.
func setDefaults(c *orchestrationv1alpha1.OrchestrationContext) {
	if c.Spec.DeletionPolicy == "" {
		c.Spec.DeletionPolicy = orchestrationv1alpha1.DeletionPolicyOrphan
	}
}

// accessChanged reports whether an update changes what the controller does with the
// requester's rights, the members or the deletion policy, which the requesting user must then
// be allowed to do themselves; old is nil on create.
func accessChanged(c, old *orchestrationv1alpha1.OrchestrationContext) bool {
	return old == nil || !apiequality.Semantic.DeepEqual(c.Spec.Members, old.Spec.Members) ||
		c.Spec.DeletionPolicy != old.Spec.DeletionPolicy
}

// setRequester stamps the requesting user into the requester annotation when the context is
// new or its members or deletion policy change, and otherwise keeps the annotation of old:
// clients never write it.
func setRequester(ctx context.Context, c, old *orchestrationv1alpha1.OrchestrationContext) {
	value := ""
	if old != nil {
		value = old.Annotations[orchestrationv1alpha1.RequesterAnnotation]
	}
	if u, ok := genericapirequest.UserFrom(ctx); ok && accessChanged(c, old) {
		value = encodeRequester(u)
	}
	if value == "" {
		delete(c.Annotations, orchestrationv1alpha1.RequesterAnnotation)
		return
	}
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[orchestrationv1alpha1.RequesterAnnotation] = value
}

// encodeRequester writes a user as the requester annotation holds it.
func encodeRequester(u user.Info) string {
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		info.Extra = make(map[string]authenticationv1.ExtraValue, len(extra))
		for k, v := range extra {
			info.Extra[k] = v
		}
	}
	data, err := json.Marshal(info)
	if err != nil {
		// A UserInfo always encodes.
		panic(fmt.Sprintf("failed to encode requester: %v", err))
	}
	return string(data)
}
