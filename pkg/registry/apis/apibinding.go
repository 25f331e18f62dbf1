package apis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// claimStates are the answers a binding may give to a claim.
var claimStates = sets.New(apisv1alpha1.ClaimAccepted, apisv1alpha1.ClaimRejected)

// bindingPhases are the phases of a binding.
var bindingPhases = sets.New(apisv1alpha1.BindingPhaseBinding, apisv1alpha1.BindingPhaseBound, apisv1alpha1.BindingPhaseUnbinding)

func apiBindingOptions(scheme *runtime.Scheme, deps Deps) (store.Options, error) {
	cel, err := store.NewCELValidator(deps.Definitions, scheme, apisv1alpha1.SchemeGroupVersion.WithKind("APIBinding"))
	if err != nil {
		return store.Options{}, err
	}
	a := &admission{index: deps.Index, authz: deps.Authorizer, export: deps.Export}
	bindingOf := func(obj runtime.Object) *apisv1alpha1.APIBinding { return obj.(*apisv1alpha1.APIBinding) }
	return store.Options{
		Resource:  apisv1alpha1.Resource("apibindings"),
		Singular:  "apibinding",
		New:       func() runtime.Object { return &apisv1alpha1.APIBinding{} },
		NewList:   func() runtime.Object { return &apisv1alpha1.APIBindingList{} },
		HasStatus: true,
		// The finalizer is there from the start, so that even a binding deleted at once has
		// its instances cleaned up.
		PrepareForCreate: func(ctx context.Context, obj runtime.Object) {
			b := bindingOf(obj)
			if !slices.Contains(b.Finalizers, apisv1alpha1.BindingFinalizer) {
				b.Finalizers = append(b.Finalizers, apisv1alpha1.BindingFinalizer)
			}
			// The default plan is pinned at creation: a provider changing its default later
			// moves no existing consumer. Validation refuses the binding if the creator may
			// not bind the export.
			if b.Spec.Plan == "" {
				if e, ok := a.lookupExport(ctx, b.Spec.Reference.Export); ok {
					b.Spec.Plan = e.DefaultPlan()
				}
			}
		},
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			b := bindingOf(obj)
			errs := validateAPIBindingSpec(&b.Spec, field.NewPath("spec"))
			if len(errs) > 0 {
				return errs
			}
			if errs := a.checkBind(ctx, b.Spec.Reference.Export); len(errs) > 0 {
				return errs
			}
			if errs := a.checkPlan(ctx, b); len(errs) > 0 {
				return errs
			}
			return a.checkClaims(ctx, b, nil)
		},
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			errs := append(cel.Validate(ctx, obj, old), validateAPIBindingSpec(&bindingOf(obj).Spec, field.NewPath("spec"))...)
			if len(errs) > 0 {
				return errs
			}
			// A plan the export stopped offering does not block other changes of the binding.
			if b := bindingOf(obj); b.Spec.Plan != bindingOf(old).Spec.Plan {
				if errs := a.checkPlan(ctx, b); len(errs) > 0 {
					return errs
				}
			}
			return a.checkClaims(ctx, bindingOf(obj), bindingOf(old))
		},
		ValidateStatusUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			errs := cel.Validate(ctx, obj, old)
			if p := bindingOf(obj).Status.Phase; p != "" && !bindingPhases.Has(p) {
				errs = append(errs, field.NotSupported(field.NewPath("status", "phase"), p, sets.List(bindingPhases)))
			}
			return errs
		},
		ShortNames: []string{"binding"},
		Categories: []string{"accountmesh"},
		Columns: []store.Column{
			{Name: "Export", Type: "string", Description: "The bound export, as path:name.", Value: func(obj runtime.Object) interface{} {
				ref := bindingOf(obj).Spec.Reference.Export
				if ref == nil {
					return ""
				}
				if ref.Path == "" {
					return ref.Name
				}
				return ref.Path + cluster.PathSeparator + ref.Name
			}},
			{Name: "Phase", Type: "string", Description: "Binding, Bound or Unbinding.", Value: func(obj runtime.Object) interface{} {
				return string(bindingOf(obj).Status.Phase)
			}},
			{Name: "Ready", Type: "string", Description: "Whether the bound resources are served.", Value: func(obj runtime.Object) interface{} {
				return conditionStatus(bindingOf(obj).Status.Conditions, apisv1alpha1.BindingConditionReady)
			}},
			{Name: "Plan", Type: "string", Priority: 1, Description: "The plan in effect.", Value: func(obj runtime.Object) interface{} {
				return bindingOf(obj).Status.Plan
			}},
			{Name: "Tenant Space", Type: "string", Description: "For a managed service, the namespace the provider writes back into.", Value: func(obj runtime.Object) interface{} {
				if ts := bindingOf(obj).Status.TenantSpace; ts != nil {
					return ts.Namespace
				}
				return ""
			}},
			{Name: "Shadow Account", Type: "string", Priority: 1, Description: "For a managed service, the consumer organisation's account in the provider's account.", Value: func(obj runtime.Object) interface{} {
				if sa := bindingOf(obj).Status.ShadowAccount; sa != nil {
					return sa.Path
				}
				return ""
			}},
		},
	}, nil
}

func validateAPIBindingSpec(spec *apisv1alpha1.APIBindingSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	ref := path.Child("reference", "export")
	switch e := spec.Reference.Export; {
	case e == nil:
		errs = append(errs, field.Required(ref, "a binding names the APIExport to bind"))
	case e.Name == "":
		errs = append(errs, field.Required(ref.Child("name"), ""))
	default:
		for _, msg := range validation.IsDNS1123Subdomain(e.Name) {
			errs = append(errs, field.Invalid(ref.Child("name"), e.Name, msg))
		}
	}
	if spec.Plan != "" {
		for _, msg := range validation.IsDNS1123Label(spec.Plan) {
			errs = append(errs, field.Invalid(path.Child("plan"), spec.Plan, msg))
		}
	}
	claims := path.Child("permissionClaims")
	keys := sets.New[string]()
	for i := range spec.PermissionClaims {
		c := &spec.PermissionClaims[i]
		p := claims.Index(i)
		errs = append(errs, validatePermissionClaim(&c.PermissionClaim, p)...)
		if !claimStates.Has(c.State) {
			errs = append(errs, field.NotSupported(p.Child("state"), c.State, sets.List(claimStates)))
		}
		if k := claimKey(&c.PermissionClaim); keys.Has(k) {
			errs = append(errs, field.Duplicate(p, k))
		} else {
			keys.Insert(k)
		}
	}
	return errs
}

// admission holds the checks of a binding that need the requesting user.
type admission struct {
	index  Index
	authz  authorizer.Authorizer
	export func(id cluster.ID, name string) (*apisv1alpha1.APIExport, bool)
}

// exportAccount returns the account of the export a binding of the request's account
// references, and the account as the message shows it.
func (a *admission) exportAccount(ctx context.Context, ref *apisv1alpha1.ExportReference) (cluster.ID, string, bool) {
	consumer, inAccount := cluster.FromContext(ctx)
	if ref.Path != "" {
		provider, ok := a.index.Resolve(ref.Path)
		return provider, ref.Path, ok
	}
	e, ok := a.index.Lookup(consumer)
	return consumer, e.Path, inAccount && ok && e.Path != ""
}

// checkBind refuses a binding unless its creator may bind the export in the export's
// account. It does not look the export up, and an unknown account gets the same answer as an
// export the user may not bind, so that nothing is revealed about other accounts.
func (a *admission) checkBind(ctx context.Context, ref *apisv1alpha1.ExportReference) field.ErrorList {
	u, hasUser := genericapirequest.UserFrom(ctx)
	consumer, _ := cluster.FromContext(ctx)
	provider, shown, found := a.exportAccount(ctx, ref)
	name := "<unknown>"
	if hasUser {
		name = u.GetName()
	}
	if hasUser && found && MayBind(ctx, a.authz, a.index, u, consumer, provider, ref.Name) {
		return nil
	}
	return field.ErrorList{field.Forbidden(field.NewPath("spec", "reference", "export"),
		fmt.Sprintf("user %q may not bind APIExport %q of account %q", name, ref.Name, shown))}
}

// MayBind reports whether user u, in account consumer, may bind the export named export of
// account provider: the verb bind on the export in the provider account, with the reserved
// groups of the consumer account added. It is the check of binding creation, and the rule of
// what the marketplace shows.
func MayBind(ctx context.Context, authz authorizer.Authorizer, index Index, u user.Info, consumer, provider cluster.ID, export string) bool {
	binder, ok := Binder(index, u, consumer)
	return ok && MayBindAs(ctx, authz, binder, provider, export)
}

// Binder returns u as bind checks see it in account consumer: with the reserved groups of
// the account and its subtrees; false if the account is unknown.
func Binder(index Index, u user.Info, consumer cluster.ID) (user.Info, bool) {
	e, ok := index.Lookup(consumer)
	if !ok || e.Path == "" {
		return nil, false
	}
	return withConsumerGroups(u, e.Path), true
}

// MayBindAs is MayBind for a binder of Binder, to check many exports for one caller.
func MayBindAs(ctx context.Context, authz authorizer.Authorizer, binder user.Info, provider cluster.ID, export string) bool {
	decision, _, err := authz.Authorize(cluster.WithCluster(ctx, provider), authorizer.AttributesRecord{
		User: binder, Verb: "bind",
		APIGroup: apisv1alpha1.GroupName, APIVersion: apisv1alpha1.SchemeGroupVersion.Version,
		Resource: "apiexports", Name: export, ResourceRequest: true,
	})
	return err == nil && decision == authorizer.DecisionAllow
}

// lookupExport returns the export a binding of the request's account references, from the
// server's cache.
func (a *admission) lookupExport(ctx context.Context, ref *apisv1alpha1.ExportReference) (*apisv1alpha1.APIExport, bool) {
	if a.export == nil || ref == nil {
		return nil, false
	}
	provider, _, ok := a.exportAccount(ctx, ref)
	if !ok {
		return nil, false
	}
	return a.export(provider, ref.Name)
}

// checkPlan refuses a plan the export does not offer, a plan of an export without plans, and
// no plan for an export with plans and no default. An export not in the cache (not created
// yet, or in another replica's future) is left to the binding controller, which puts no plan
// in effect until the export offers it.
func (a *admission) checkPlan(ctx context.Context, b *apisv1alpha1.APIBinding) field.ErrorList {
	e, ok := a.lookupExport(ctx, b.Spec.Reference.Export)
	if !ok {
		return nil
	}
	path := field.NewPath("spec", "plan")
	plans := e.Plans()
	names := make([]string, 0, len(plans))
	for _, p := range plans {
		names = append(names, p.Name)
	}
	switch {
	case len(plans) == 0 && b.Spec.Plan != "":
		return field.ErrorList{field.Invalid(path, b.Spec.Plan, fmt.Sprintf("APIExport %q offers no plans; leave spec.plan empty", e.Name))}
	case len(plans) > 0 && b.Spec.Plan == "":
		return field.ErrorList{field.Required(path, fmt.Sprintf("APIExport %q has no default plan; choose one of: %s", e.Name, strings.Join(names, ", ")))}
	case len(plans) > 0 && !slices.Contains(names, b.Spec.Plan):
		return field.ErrorList{field.NotSupported(path, b.Spec.Plan, names)}
	}
	return nil
}

// withConsumerGroups adds to u, for the bind check only, the reserved groups that describe the
// consumer account: the account itself and every subtree it is in. A provider opens an export
// to an account, a subtree or everyone by granting bind to one of them or to
// system:authenticated. Paths, not IDs, so that grants are readable: an account deleted and
// created again at the same path gets the same access, as its parent decides its names.
func withConsumerGroups(u user.Info, consumerPath string) user.Info {
	groups := append(slices.Clone(u.GetGroups()), authentication.AccountGroup(consumerPath))
	return &user.DefaultInfo{
		Name:   u.GetName(),
		UID:    u.GetUID(),
		Groups: append(groups, authentication.SubtreeGroups(consumerPath)...),
		Extra:  u.GetExtra(),
	}
}

// checkClaims refuses to accept a claim, on create or when an update accepts it, unless the
// user may perform all its verbs on its resource in this account: a user cannot give a
// provider more than they hold.
func (a *admission) checkClaims(ctx context.Context, b, old *apisv1alpha1.APIBinding) field.ErrorList {
	accepted := sets.New[string]()
	if old != nil {
		for i := range old.Spec.PermissionClaims {
			if c := &old.Spec.PermissionClaims[i]; c.State == apisv1alpha1.ClaimAccepted {
				accepted.Insert(claimKey(&c.PermissionClaim) + verbsKey(c.Verbs))
			}
		}
	}
	u, hasUser := genericapirequest.UserFrom(ctx)
	var errs field.ErrorList
	for i := range b.Spec.PermissionClaims {
		c := &b.Spec.PermissionClaims[i]
		if c.State != apisv1alpha1.ClaimAccepted || accepted.Has(claimKey(&c.PermissionClaim)+verbsKey(c.Verbs)) {
			continue
		}
		gr := schema.GroupResource{Group: c.Group, Resource: c.Resource}
		if verb, ok := a.mayDoAll(ctx, u, hasUser, gr, c.Verbs); !ok {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "permissionClaims").Index(i).Child("state"),
				fmt.Sprintf("accepting the claim needs %q on %s in this account, which you do not have", verb, describe(gr))))
		}
	}
	return errs
}

// verbsKey tells apart acceptances of different verbs for the same resource.
func verbsKey(verbs []string) string {
	return fmt.Sprint(sets.List(sets.New(verbs...)))
}

// mayDoAll reports whether the user may perform every verb on gr in the request's account, and
// else the first verb it may not.
func (a *admission) mayDoAll(ctx context.Context, u user.Info, hasUser bool, gr schema.GroupResource, verbs []string) (string, bool) {
	list := verbs
	if sets.New(verbs...).Has("*") {
		list = sets.List(claimVerbs)
	}
	for _, v := range list {
		if !hasUser {
			return v, false
		}
		decision, _, err := a.authz.Authorize(ctx, authorizer.AttributesRecord{
			User: u, Verb: v, APIGroup: gr.Group, Resource: gr.Resource, ResourceRequest: true,
		})
		if err != nil || decision != authorizer.DecisionAllow {
			return v, false
		}
	}
	return "", true
}
