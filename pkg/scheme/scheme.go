// Package scheme owns the runtime.Scheme and codecs of the server: every served type is
// registered in its external version and, under the same Go type, as its internal version, so
// typed registries work without internal types or conversion code. Two groups convert for real:
// events.k8s.io/v1 Event, which shares storage with core v1 Event, and apiextensions.k8s.io,
// whose CustomResourceDefinition has upstream internal types and generated conversions (only v1
// is served).
//
// It must not depend on server wiring or registries.
package scheme

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	iamv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/iam/v1alpha1"
	marketplacev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/marketplace/v1alpha1"
	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

var (
	// Scheme knows every type the server serves.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types of Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	utilruntime.Must(AddToScheme(Scheme))
}

// internal returns the internal version of a group.
func internal(group string) schema.GroupVersion {
	return schema.GroupVersion{Group: group, Version: runtime.APIVersionInternal}
}

// AddToScheme registers all served types, their internal versions, conversions and field
// label conversions.
func AddToScheme(s *runtime.Scheme) error {
	builders := []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		authenticationv1.AddToScheme,
		rbacv1.AddToScheme,
		coordinationv1.AddToScheme,
		flowcontrolv1.AddToScheme,
		storagemigrationv1.AddToScheme,
		eventsv1.AddToScheme,
		corev1alpha1.AddToScheme,
		apiextensions.AddToScheme,
		apiextensionsv1.AddToScheme,
		iamv1alpha1.AddToScheme,
		authorizationv1.AddToScheme,
		authorizationv1alpha1.AddToScheme,
		apisv1alpha1.AddToScheme,
		admissionregistrationv1.AddToScheme,
		orchestrationv1alpha1.AddToScheme,
		marketplacev1alpha1.AddToScheme,
		addInternalTypes,
		addEventConversions,
		addFieldLabelConversions,
	}
	for _, add := range builders {
		if err := add(s); err != nil {
			return err
		}
	}
	if err := s.SetVersionPriority(apiextensionsv1.SchemeGroupVersion); err != nil {
		return err
	}
	unversioned := schema.GroupVersion{Version: "v1"}
	metav1.AddToGroupVersion(s, unversioned)
	s.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
	return nil
}

// addInternalTypes registers the external Go types of every served kind as its internal
// version. The scheme then converts between the two by copying, with no conversion functions.
func addInternalTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(internal(corev1.GroupName),
		&corev1.Namespace{}, &corev1.NamespaceList{},
		&corev1.ConfigMap{}, &corev1.ConfigMapList{},
		&corev1.Secret{}, &corev1.SecretList{},
		&corev1.ServiceAccount{}, &corev1.ServiceAccountList{},
		&corev1.Event{}, &corev1.EventList{},
		&corev1.ResourceQuota{}, &corev1.ResourceQuotaList{},
	)
	s.AddKnownTypes(internal(rbacv1.GroupName),
		&rbacv1.Role{}, &rbacv1.RoleList{},
		&rbacv1.RoleBinding{}, &rbacv1.RoleBindingList{},
		&rbacv1.ClusterRole{}, &rbacv1.ClusterRoleList{},
		&rbacv1.ClusterRoleBinding{}, &rbacv1.ClusterRoleBindingList{},
	)
	s.AddKnownTypes(internal(coordinationv1.GroupName),
		&coordinationv1.Lease{}, &coordinationv1.LeaseList{},
	)
	s.AddKnownTypes(internal(flowcontrolv1.GroupName),
		&flowcontrolv1.FlowSchema{}, &flowcontrolv1.FlowSchemaList{},
		&flowcontrolv1.PriorityLevelConfiguration{}, &flowcontrolv1.PriorityLevelConfigurationList{},
	)
	s.AddKnownTypes(internal(storagemigrationv1.GroupName),
		&storagemigrationv1.StorageVersionMigration{}, &storagemigrationv1.StorageVersionMigrationList{},
	)
	s.AddKnownTypes(internal(corev1alpha1.GroupName),
		&corev1alpha1.Account{}, &corev1alpha1.AccountList{},
		&corev1alpha1.AccountInfo{}, &corev1alpha1.AccountInfoList{},
		&corev1alpha1.AccountType{}, &corev1alpha1.AccountTypeList{},
	)
	s.AddKnownTypes(internal(iamv1alpha1.GroupName),
		&iamv1alpha1.IdentityProvider{}, &iamv1alpha1.IdentityProviderList{},
		&iamv1alpha1.Invite{}, &iamv1alpha1.InviteList{},
	)
	s.AddKnownTypes(internal(authenticationv1.GroupName),
		&authenticationv1.TokenRequest{}, &authenticationv1.SelfSubjectReview{}, &authenticationv1.TokenReview{},
	)
	s.AddKnownTypes(internal(authorizationv1.GroupName),
		&authorizationv1.SelfSubjectAccessReview{}, &authorizationv1.SelfSubjectRulesReview{},
		&authorizationv1.SubjectAccessReview{}, &authorizationv1.LocalSubjectAccessReview{},
	)
	s.AddKnownTypes(internal(authorizationv1alpha1.GroupName),
		&authorizationv1alpha1.AccessibleAccount{}, &authorizationv1alpha1.AccessibleAccountList{},
		&authorizationv1alpha1.AccessGrant{}, &authorizationv1alpha1.AccessGrantList{},
		&authorizationv1alpha1.EffectivePolicy{}, &authorizationv1alpha1.EffectivePolicyList{},
		&authorizationv1alpha1.EffectiveWebhook{}, &authorizationv1alpha1.EffectiveWebhookList{},
	)
	s.AddKnownTypes(internal(apisv1alpha1.GroupName),
		&apisv1alpha1.APIResourceSchema{}, &apisv1alpha1.APIResourceSchemaList{},
		&apisv1alpha1.APIExport{}, &apisv1alpha1.APIExportList{},
		&apisv1alpha1.APIBinding{}, &apisv1alpha1.APIBindingList{},
		&apisv1alpha1.ServiceInstance{}, &apisv1alpha1.ServiceInstanceList{},
	)
	s.AddKnownTypes(internal(admissionregistrationv1.GroupName),
		&admissionregistrationv1.ValidatingAdmissionPolicy{}, &admissionregistrationv1.ValidatingAdmissionPolicyList{},
		&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{},
		&admissionregistrationv1.ValidatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfigurationList{},
		&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.MutatingWebhookConfigurationList{},
	)
	s.AddKnownTypes(internal(orchestrationv1alpha1.GroupName),
		&orchestrationv1alpha1.OrchestrationContext{}, &orchestrationv1alpha1.OrchestrationContextList{},
	)
	s.AddKnownTypes(internal(marketplacev1alpha1.GroupName),
		&marketplacev1alpha1.MarketplaceEntry{}, &marketplacev1alpha1.MarketplaceEntryList{},
	)
	// events.k8s.io shares storage with core events: its internal type is the core Event.
	s.AddKnownTypes(internal(eventsv1.GroupName), &corev1.Event{}, &corev1.EventList{})
	return nil
}
