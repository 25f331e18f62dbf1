package orchestration

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/orchestration"
)

// deletionPolicies are the deletion policies of a context.
var deletionPolicies = sets.New(orchestrationv1alpha1.DeletionPolicyOrphan, orchestrationv1alpha1.DeletionPolicyDelete)

// validateSpec checks what can be checked without the requesting user: names, references,
// dependencies, readiness expressions and the member cap.
func validateSpec(spec *orchestrationv1alpha1.OrchestrationContextSpec) field.ErrorList {
	if p := spec.DeletionPolicy; p != "" && !deletionPolicies.Has(p) {
		return field.ErrorList{field.NotSupported(field.NewPath("spec", "deletionPolicy"), p, sets.List(deletionPolicies))}
	}
	path := field.NewPath("spec", "members")
	switch n := len(spec.Members); {
	case n == 0:
		return field.ErrorList{field.Required(path, "a context has at least one member")}
	case n > orchestrationv1alpha1.MaxMembers:
		return field.ErrorList{field.TooMany(path, n, orchestrationv1alpha1.MaxMembers)}
	}
	var errs field.ErrorList
	selectors := 0
	for i := range spec.Members {
		if spec.Members[i].Selector != nil {
			selectors++
		}
	}
	if selectors > orchestrationv1alpha1.MaxSelectors {
		errs = append(errs, field.Invalid(path, selectors, fmt.Sprintf("a context has at most %d selector members", orchestrationv1alpha1.MaxSelectors)))
	}
	names := sets.New[string]()
	for i := range spec.Members {
		m := &spec.Members[i]
		p := path.Index(i)
		for _, msg := range validation.IsDNS1123Label(m.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, msg))
		}
		if names.Has(m.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), m.Name))
		}
		names.Insert(m.Name)
		errs = append(errs, validateMember(m, p)...)
	}
	for i := range spec.Members {
		m := &spec.Members[i]
		p := path.Index(i).Child("dependsOn")
		seen := sets.New[string]()
		for j, d := range m.DependsOn {
			switch {
			case d == m.Name:
				errs = append(errs, field.Invalid(p.Index(j), d, fmt.Sprintf("member %q may not depend on itself", m.Name)))
			case !names.Has(d):
				errs = append(errs, field.NotFound(p.Index(j), d))
			case seen.Has(d):
				errs = append(errs, field.Duplicate(p.Index(j), d))
			}
			seen.Insert(d)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if cycle := orchestration.Cycle(spec.Members); cycle != nil {
		errs = append(errs, field.Invalid(path, orchestration.FormatCycle(cycle),
			"the dependencies of members form a cycle: "+orchestration.FormatCycle(cycle)))
	}
	return errs
}

// validateMember checks one member's reference and readiness expression.
func validateMember(m *orchestrationv1alpha1.Member, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case m.Ref == nil && m.Selector == nil:
		errs = append(errs, field.Required(p.Child("ref"), fmt.Sprintf("member %q needs ref", m.Name)))
	case m.Ref != nil && m.Selector != nil:
		errs = append(errs, field.Invalid(p, m.Name, fmt.Sprintf("member %q may set only one of ref and selector", m.Name)))
	case m.Selector != nil:
		errs = append(errs, validateSelector(m.Selector, p.Child("selector"))...)
	default:
		errs = append(errs, validateRef(m.Ref, p.Child("ref"))...)
	}
	if m.Readiness != "" {
		if _, err := orchestration.CompileReadiness(m.Readiness, false); err != nil {
			errs = append(errs, field.Invalid(p.Child("readiness"), m.Readiness, fmt.Sprintf("member %q: %v", m.Name, err)))
		}
	}
	return errs
}

func validateSelector(sel *orchestrationv1alpha1.MemberSelector, p *field.Path) field.ErrorList {
	errs := validateKind(sel.APIVersion, sel.Kind, p)
	errs = append(errs, metav1validation.ValidateLabelSelector(sel.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("labelSelector"))...)
	return errs
}

// validateKind checks the apiVersion and kind of a reference or selector.
func validateKind(apiVersion, kind string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiVersion == "" {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	} else if _, err := schema.ParseGroupVersion(apiVersion); err != nil {
		errs = append(errs, field.Invalid(p.Child("apiVersion"), apiVersion, err.Error()))
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	return errs
}

func validateRef(ref *orchestrationv1alpha1.MemberReference, p *field.Path) field.ErrorList {
	errs := validateKind(ref.APIVersion, ref.Kind, p)
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range content.IsPathSegmentName(ref.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), ref.Name, msg))
		}
	}
	if ref.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(ref.Namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), ref.Namespace, msg))
		}
	}
	return errs
}
