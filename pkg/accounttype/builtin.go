package accounttype

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
)

// Builtin returns the account types that exist in root from the start: root, org (children of
// root), account (under orgs and accounts, to any depth), provider and shadow (the platform's
// accounts for the consumers of a managed service, inside the account that exports it; reserved,
// so only the platform creates them). Each call returns new
// objects, so callers may change them.
func Builtin() []*corev1alpha1.AccountType {
	newType := func(name string, spec corev1alpha1.AccountTypeSpec) *corev1alpha1.AccountType {
		return &corev1alpha1.AccountType{
			TypeMeta:   metav1.TypeMeta{APIVersion: corev1alpha1.SchemeGroupVersion.String(), Kind: "AccountType"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       spec,
		}
	}
	return []*corev1alpha1.AccountType{
		newType(corev1alpha1.TypeRoot, corev1alpha1.AccountTypeSpec{
			AllowedChildren:  []string{corev1alpha1.TypeOrg, corev1alpha1.TypeProvider},
			DefaultChildType: corev1alpha1.TypeOrg,
		}),
		newType(corev1alpha1.TypeOrg, corev1alpha1.AccountTypeSpec{
			AllowedParents:   []string{corev1alpha1.TypeRoot},
			DefaultChildType: corev1alpha1.TypeAccount,
		}),
		newType(corev1alpha1.TypeAccount, corev1alpha1.AccountTypeSpec{
			AllowedParents:   []string{corev1alpha1.TypeOrg, corev1alpha1.TypeAccount},
			DefaultChildType: corev1alpha1.TypeAccount,
		}),
		newType(corev1alpha1.TypeProvider, corev1alpha1.AccountTypeSpec{
			AllowedParents:   []string{corev1alpha1.TypeRoot, corev1alpha1.TypeOrg, corev1alpha1.TypeAccount},
			DefaultChildType: corev1alpha1.TypeAccount,
		}),
		newType(corev1alpha1.TypeShadow, corev1alpha1.AccountTypeSpec{
			AllowedParents: []string{corev1alpha1.TypeOrg, corev1alpha1.TypeAccount, corev1alpha1.TypeProvider},
			Terminators:    []string{corev1alpha1.TerminatorServiceInstances},
		}),
	}
}
