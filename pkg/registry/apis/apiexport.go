package apis

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Limits of an APIExport's spec.
const (
	maxExportedResources = 64
	maxPermissionClaims  = 32
	maxDisplayName       = 256
	maxDescription       = 4096
	maxCategories        = 16
	maxIconURL           = 64 << 10
	maxPlans             = 16
)

// claimVerbs are the verbs a permission claim may name, besides "*".
var claimVerbs = sets.New("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")

// claimableBuiltins are the built-in resources a claim without identity hash may name. Never
// RBAC, accounts or apis.accountmesh.io: claiming those would let a provider escalate in the
// consumer's account.
var claimableBuiltins = sets.New(
	schema.GroupResource{Resource: "configmaps"},
	schema.GroupResource{Resource: "secrets"},
	schema.GroupResource{Resource: "serviceaccounts"},
	schema.GroupResource{Resource: "namespaces"},
	schema.GroupResource{Resource: "events"},
	schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"},
)

func apiExportOptions(scheme *runtime.Scheme, deps Deps) (store.Options, error) {
	cel, err := store.NewCELValidator(deps.Definitions, scheme, apisv1alpha1.SchemeGroupVersion.WithKind("APIExport"))
	if err != nil {
		return store.Options{}, err
	}
	exportOf := func(obj runtime.Object) *apisv1alpha1.APIExport { return obj.(*apisv1alpha1.APIExport) }
	a := &admission{index: deps.Index, authz: deps.Authorizer}
	return store.Options{
		Resource:  apisv1alpha1.Resource("apiexports"),
		Singular:  "apiexport",
		New:       func() runtime.Object { return &apisv1alpha1.APIExport{} },
		NewList:   func() runtime.Object { return &apisv1alpha1.APIExportList{} },
		HasStatus: true,
		Validate: func(ctx context.Context, obj runtime.Object) field.ErrorList {
			if errs := validateAPIExportSpec(&exportOf(obj).Spec, field.NewPath("spec"), deps.BuiltinGroups()); len(errs) > 0 {
				return errs
			}
			return a.checkAdmissionPolicies(ctx, exportOf(obj), nil)
		},
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			errs := append(cel.Validate(ctx, obj, old), validateAPIExportSpec(&exportOf(obj).Spec, field.NewPath("spec"), deps.BuiltinGroups())...)
			errs = append(errs, validateServiceChange(ctx, exportOf(obj), exportOf(old), deps.Consumers)...)
			if len(errs) > 0 {
				return errs
			}
			return a.checkAdmissionPolicies(ctx, exportOf(obj), exportOf(old))
		},
		ValidateStatusUpdate: cel.Validate,
		ShortNames:           []string{"export"},
		Categories:           []string{"accountmesh"},
		Columns: []store.Column{
			{Name: "Identity", Type: "string", Description: "The first characters of the export's identity hash.", Value: func(obj runtime.Object) interface{} {
				h := exportOf(obj).Status.IdentityHash
				return h[:min(8, len(h))]
			}},
			{Name: "Resources", Type: "integer", Description: "The number of exported resources.", Value: func(obj runtime.Object) interface{} {
				return int64(len(exportOf(obj).Spec.Resources))
			}},
			{Name: "Ready", Type: "string", Description: "Whether the export can be bound.", Value: func(obj runtime.Object) interface{} {
				return conditionStatus(exportOf(obj).Status.Conditions, apisv1alpha1.ExportConditionReady)
			}},
		},
	}, nil
}

// conditionStatus returns the status of a condition, Unknown when it is not set.
func conditionStatus(conditions []metav1.Condition, conditionType string) string {
	for _, c := range conditions {
		if c.Type == conditionType {
			return string(c.Status)
		}
	}
	return string(metav1.ConditionUnknown)
}

func validateAPIExportSpec(spec *apisv1alpha1.APIExportSpec, path *field.Path, builtinGroups []string) field.ErrorList {
	var errs field.ErrorList
	builtin := sets.New(builtinGroups...)
	resources := path.Child("resources")
	switch n := len(spec.Resources); {
	case n == 0:
		errs = append(errs, field.Required(resources, "an export publishes at least one resource"))
	case n > maxExportedResources:
		errs = append(errs, field.TooMany(resources, n, maxExportedResources))
	}
	seen := sets.New[schema.GroupResource]()
	for i, r := range spec.Resources {
		p := resources.Index(i)
		errs = append(errs, validateGroupWithDot(r.Group, p.Child("group"))...)
		if builtin.Has(r.Group) || isPlatformGroup(r.Group) {
			errs = append(errs, field.Invalid(p.Child("group"), r.Group,
				"the group is served by Account Mesh itself; an export publishes custom resources only"))
		}
		for _, msg := range validation.IsDNS1123Label(r.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
		}
		for _, msg := range validation.IsDNS1123Subdomain(r.Schema) {
			errs = append(errs, field.Invalid(p.Child("schema"), r.Schema, msg))
		}
		gr := schema.GroupResource{Group: r.Group, Resource: r.Name}
		if seen.Has(gr) {
			errs = append(errs, field.Duplicate(p, gr.String()))
		}
		seen.Insert(gr)
	}
	if id := spec.Identity; id != nil && id.SecretRef != nil {
		p := path.Child("identity", "secretRef")
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(id.SecretRef.Namespace, false) {
			errs = append(errs, field.Invalid(p.Child("namespace"), id.SecretRef.Namespace, msg))
		}
		for _, msg := range validation.IsDNS1123Subdomain(id.SecretRef.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), id.SecretRef.Name, msg))
		}
	}
	claims := path.Child("permissionClaims")
	if n := len(spec.PermissionClaims); n > maxPermissionClaims {
		errs = append(errs, field.TooMany(claims, n, maxPermissionClaims))
	}
	keys := sets.New[string]()
	for i := range spec.PermissionClaims {
		c := &spec.PermissionClaims[i]
		errs = append(errs, validatePermissionClaim(c, claims.Index(i))...)
		if k := claimKey(c); keys.Has(k) {
			errs = append(errs, field.Duplicate(claims.Index(i), k))
		} else {
			keys.Insert(k)
		}
	}
	if spec.Catalog != nil {
		errs = append(errs, validateCatalog(spec.Catalog, path.Child("catalog"))...)
	}
	if spec.Service != nil {
		errs = append(errs, validateService(spec, path.Child("service"))...)
	}
	return append(errs, validateAdmissionPolicies(spec.AdmissionPolicies, path.Child("admissionPolicies"))...)
}

// maxAdmissionPolicies bounds spec.admissionPolicies.
const maxAdmissionPolicies = 16

// validateAdmissionPolicies checks that an export names at most maxAdmissionPolicies bindings,
// each once, by valid names.
func validateAdmissionPolicies(policies []apisv1alpha1.ExportAdmissionPolicy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n := len(policies); n > maxAdmissionPolicies {
		errs = append(errs, field.TooMany(path, n, maxAdmissionPolicies))
	}
	seen := sets.New[string]()
	for i, p := range policies {
		name := path.Index(i).Child("bindingName")
		for _, msg := range validation.IsDNS1123Subdomain(p.BindingName) {
			errs = append(errs, field.Invalid(name, p.BindingName, msg))
		}
		if seen.Has(p.BindingName) {
			errs = append(errs, field.Duplicate(name, p.BindingName))
		}
		seen.Insert(p.BindingName)
	}
	return errs
}

// checkAdmissionPolicies refuses to name, on create or when an update adds it, a
// ValidatingAdmissionPolicyBinding the user may not get in the export's account: an export
// imposes its policies on every consumer, so only who may see them may name them.
func (a *admission) checkAdmissionPolicies(ctx context.Context, e, old *apisv1alpha1.APIExport) field.ErrorList {
	named := sets.New[string]()
	if old != nil {
		for _, p := range old.Spec.AdmissionPolicies {
			named.Insert(p.BindingName)
		}
	}
	u, hasUser := genericapirequest.UserFrom(ctx)
	var errs field.ErrorList
	for i, p := range e.Spec.AdmissionPolicies {
		if named.Has(p.BindingName) {
			continue
		}
		allowed := false
		if hasUser {
			decision, _, err := a.authz.Authorize(ctx, authorizer.AttributesRecord{
				User: u, Verb: "get", APIGroup: admissionregistrationv1.GroupName, APIVersion: "v1",
				Resource: "validatingadmissionpolicybindings", Name: p.BindingName, ResourceRequest: true,
			})
			allowed = err == nil && decision == authorizer.DecisionAllow
		}
		if !allowed {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "admissionPolicies").Index(i).Child("bindingName"),
				fmt.Sprintf("naming ValidatingAdmissionPolicyBinding %q needs the right to get it in this account, which you do not have", p.BindingName)))
		}
	}
	return errs
}

// serviceModels are the models of a managed service.
var serviceModels = sets.New(apisv1alpha1.ServiceModelShared, apisv1alpha1.ServiceModelDedicated)

// relatableBuiltins are the resources a managed service may write back into tenant spaces.
var relatableBuiltins = sets.New(
	schema.GroupResource{Resource: "configmaps"},
	schema.GroupResource{Resource: "secrets"},
)

// maxRelatedResources bounds spec.service.relatedResources.
const maxRelatedResources = 8

// validateService checks spec.service: a known model, related resources the platform lets a
// provider write into tenant spaces, none of them also claimed.
func validateService(spec *apisv1alpha1.APIExportSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	svc := spec.Service
	if !serviceModels.Has(svc.Model) {
		errs = append(errs, field.NotSupported(path.Child("model"), svc.Model, sets.List(serviceModels)))
	}
	related := path.Child("relatedResources")
	if n := len(svc.RelatedResources); n > maxRelatedResources {
		errs = append(errs, field.TooMany(related, n, maxRelatedResources))
	}
	seen := sets.New[schema.GroupResource]()
	for i, r := range svc.RelatedResources {
		p := related.Index(i)
		gr := schema.GroupResource{Group: r.Group, Resource: r.Resource}
		switch {
		case !relatableBuiltins.Has(gr):
			names := make([]string, 0, relatableBuiltins.Len())
			for gr := range relatableBuiltins {
				names = append(names, gr.String())
			}
			errs = append(errs, field.NotSupported(p.Child("resource"), gr.String(), sets.List(sets.New(names...))))
		case seen.Has(gr):
			errs = append(errs, field.Duplicate(p, gr.String()))
		case slices.ContainsFunc(spec.PermissionClaims, func(c apisv1alpha1.PermissionClaim) bool {
			return c.Group == r.Group && c.Resource == r.Resource && c.IdentityHash == ""
		}):
			errs = append(errs, field.Invalid(p, gr.String(),
				"a related resource is written in the tenant space; it cannot also be a permission claim"))
		}
		seen.Insert(gr)
	}
	return errs
}

// validateServiceChange refuses, while the export has bindings, to switch its service model
// or to stop being a managed service: either would orphan the consumers' shadow accounts and
// tenant spaces. consumers reports whether an export has bindings; nil means never.
func validateServiceChange(ctx context.Context, e, old *apisv1alpha1.APIExport, consumers func(id cluster.ID, identityHash string) bool) field.ErrorList {
	if old.Spec.Service == nil || consumers == nil || old.Status.IdentityHash == "" {
		return nil
	}
	path := field.NewPath("spec", "service")
	var err *field.Error
	switch {
	case e.Spec.Service == nil:
		err = field.Forbidden(path, "the export has bindings; it cannot stop being a managed service until they are deleted")
	case e.Spec.Service.Model != old.Spec.Service.Model:
		err = field.Invalid(path.Child("model"), e.Spec.Service.Model,
			fmt.Sprintf("the export has bindings; the model cannot change from %s until they are deleted", old.Spec.Service.Model))
	default:
		return nil
	}
	id, ok := cluster.FromContext(ctx)
	if !ok || !consumers(id, old.Status.IdentityHash) {
		return nil
	}
	return field.ErrorList{err}
}

// platformGroupSuffix ends the groups reserved to the platform, served or not yet.
const platformGroupSuffix = "accountmesh.io"

// isPlatformGroup reports whether group is in the platform's own domain.
func isPlatformGroup(group string) bool {
	return group == platformGroupSuffix || strings.HasSuffix(group, "."+platformGroupSuffix)
}

// claimKey is the list-map key of a claim.
func claimKey(c *apisv1alpha1.PermissionClaim) string {
	return strconv.Quote(c.Group) + "/" + strconv.Quote(c.Resource) + "/" + strconv.Quote(c.IdentityHash)
}

func validateGroupWithDot(group string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(group) {
		errs = append(errs, field.Invalid(path, group, msg))
	}
	if len(errs) == 0 && !strings.Contains(group, ".") {
		errs = append(errs, field.Invalid(path, group, "must contain a dot, as the group of a custom resource"))
	}
	return errs
}

func validatePermissionClaim(c *apisv1alpha1.PermissionClaim, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(c.Resource) {
		errs = append(errs, field.Invalid(path.Child("resource"), c.Resource, msg))
	}
	if c.IdentityHash != "" {
		errs = append(errs, validateGroupWithDot(c.Group, path.Child("group"))...)
	} else if gr := (schema.GroupResource{Group: c.Group, Resource: c.Resource}); !claimableBuiltins.Has(gr) {
		errs = append(errs, field.NotSupported(path.Child("resource"), gr.String(), claimableNames()))
	}
	verbs := path.Child("verbs")
	if len(c.Verbs) == 0 {
		errs = append(errs, field.Required(verbs, "a claim names at least one verb"))
	}
	for i, v := range c.Verbs {
		if v != "*" && !claimVerbs.Has(v) {
			errs = append(errs, field.NotSupported(verbs.Index(i), v, append(sets.List(claimVerbs), "*")))
		}
	}
	if c.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(c.Selector); err != nil {
			errs = append(errs, field.Invalid(path.Child("selector"), c.Selector, err.Error()))
		}
	}
	return errs
}

// claimableNames lists the claimable built-in resources for error messages.
func claimableNames() []string {
	names := make([]string, 0, claimableBuiltins.Len())
	for gr := range claimableBuiltins {
		names = append(names, gr.String())
	}
	return sets.List(sets.New(names...))
}

func validateCatalog(c *apisv1alpha1.Catalog, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n := len(c.DisplayName); n > maxDisplayName {
		errs = append(errs, field.TooLong(path.Child("displayName"), "", maxDisplayName))
	}
	if n := len(c.Description); n > maxDescription {
		errs = append(errs, field.TooLong(path.Child("description"), "", maxDescription))
	}
	if n := len(c.Categories); n > maxCategories {
		errs = append(errs, field.TooMany(path.Child("categories"), n, maxCategories))
	}
	for i, cat := range c.Categories {
		for _, msg := range validation.IsDNS1123Label(cat) {
			errs = append(errs, field.Invalid(path.Child("categories").Index(i), cat, msg))
		}
	}
	if icon := c.IconURL; icon != "" {
		switch {
		case len(icon) > maxIconURL:
			errs = append(errs, field.TooLong(path.Child("iconURL"), "", maxIconURL))
		case strings.HasPrefix(icon, "data:image/"):
		case !isHTTPSURL(icon):
			errs = append(errs, field.Invalid(path.Child("iconURL"), icon, "must be an https URL or a data:image/ URL"))
		}
	}
	if doc := c.DocumentationURL; doc != "" && !isHTTPSURL(doc) {
		errs = append(errs, field.Invalid(path.Child("documentationURL"), doc, "must be an https URL"))
	}
	return append(errs, validatePlans(c.Plans, path.Child("plans"))...)
}

// validatePlans checks an export's plans: at most maxPlans, unique DNS-label names, at most one
// default.
func validatePlans(plans []apisv1alpha1.Plan, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n := len(plans); n > maxPlans {
		errs = append(errs, field.TooMany(path, n, maxPlans))
	}
	names := sets.New[string]()
	defaultPlan := ""
	for i, p := range plans {
		pp := path.Index(i)
		for _, msg := range validation.IsDNS1123Label(p.Name) {
			errs = append(errs, field.Invalid(pp.Child("name"), p.Name, msg))
		}
		if names.Has(p.Name) {
			errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
		}
		names.Insert(p.Name)
		if len(p.DisplayName) > maxDisplayName {
			errs = append(errs, field.TooLong(pp.Child("displayName"), "", maxDisplayName))
		}
		if len(p.Description) > maxDescription {
			errs = append(errs, field.TooLong(pp.Child("description"), "", maxDescription))
		}
		if p.Default {
			if defaultPlan != "" {
				errs = append(errs, field.Invalid(pp.Child("default"), true,
					fmt.Sprintf("plan %q is already the default; at most one plan is", defaultPlan)))
			} else {
				defaultPlan = p.Name
			}
		}
	}
	return errs
}

func isHTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// describe returns a short description of a group resource for messages.
func describe(gr schema.GroupResource) string {
	if gr.Group == "" {
		return fmt.Sprintf("%s (core)", gr.Resource)
	}
	return gr.String()
}
