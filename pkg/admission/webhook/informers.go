package webhook

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/informers"
	admissionregistrationinformers "k8s.io/client-go/informers/admissionregistration"
	admissionregistrationv1informers "k8s.io/client-go/informers/admissionregistration/v1"
	coreinformers "k8s.io/client-go/informers/core"
	corev1informers "k8s.io/client-go/informers/core/v1"
	admissionregistrationv1listers "k8s.io/client-go/listers/admissionregistration/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// frozenInformers is what upstream's webhook plugins read their configurations and
// namespaces from (an informer factory), for one account at one generation of the index: the
// configurations that apply there, which never change (a change of the index makes new
// plugins), and the account's namespaces. Upstream's plugins call nothing else of it; the
// embedded interfaces are nil so that anything else fails loudly.
type frozenInformers struct {
	informers.SharedInformerFactory
	namespaces corev1listers.NamespaceLister
	validating admissionregistrationv1listers.ValidatingWebhookConfigurationLister
	mutating   admissionregistrationv1listers.MutatingWebhookConfigurationLister
}

// newFrozenInformers returns the informers of the given configurations and namespaces.
func newFrozenInformers(namespaces corev1listers.NamespaceLister, validating []*admissionregistrationv1.ValidatingWebhookConfiguration, mutating []*admissionregistrationv1.MutatingWebhookConfiguration) (*frozenInformers, error) {
	v := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, c := range validating {
		if err := v.Add(c); err != nil {
			return nil, err
		}
	}
	m := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, c := range mutating {
		if err := m.Add(c); err != nil {
			return nil, err
		}
	}
	return &frozenInformers{
		namespaces: namespaces,
		validating: admissionregistrationv1listers.NewValidatingWebhookConfigurationLister(v),
		mutating:   admissionregistrationv1listers.NewMutatingWebhookConfigurationLister(m),
	}, nil
}

// Core implements informers.SharedInformerFactory.
func (f *frozenInformers) Core() coreinformers.Interface { return frozenCore{f: f} }

// Admissionregistration implements informers.SharedInformerFactory.
func (f *frozenInformers) Admissionregistration() admissionregistrationinformers.Interface {
	return frozenAdmission{f: f}
}

type frozenCore struct {
	coreinformers.Interface
	f *frozenInformers
}

func (c frozenCore) V1() corev1informers.Interface { return frozenCoreV1{f: c.f} }

type frozenCoreV1 struct {
	corev1informers.Interface
	f *frozenInformers
}

func (c frozenCoreV1) Namespaces() corev1informers.TypedNamespaceInformer {
	return frozenNamespaces{lister: c.f.namespaces}
}

type frozenNamespaces struct {
	corev1informers.TypedNamespaceInformer
	lister corev1listers.NamespaceLister
}

func (n frozenNamespaces) Informer() cache.SharedIndexInformer { return synced{} }
func (n frozenNamespaces) Lister() corev1listers.NamespaceLister {
	return n.lister
}

type frozenAdmission struct {
	admissionregistrationinformers.Interface
	f *frozenInformers
}

func (a frozenAdmission) V1() admissionregistrationv1informers.Interface {
	return frozenAdmissionV1{f: a.f}
}

type frozenAdmissionV1 struct {
	admissionregistrationv1informers.Interface
	f *frozenInformers
}

func (a frozenAdmissionV1) ValidatingWebhookConfigurations() admissionregistrationv1informers.TypedValidatingWebhookConfigurationInformer {
	return frozenValidating{lister: a.f.validating}
}

func (a frozenAdmissionV1) MutatingWebhookConfigurations() admissionregistrationv1informers.TypedMutatingWebhookConfigurationInformer {
	return frozenMutating{lister: a.f.mutating}
}

type frozenValidating struct {
	admissionregistrationv1informers.TypedValidatingWebhookConfigurationInformer
	lister admissionregistrationv1listers.ValidatingWebhookConfigurationLister
}

func (v frozenValidating) Informer() cache.SharedIndexInformer { return synced{} }
func (v frozenValidating) Lister() admissionregistrationv1listers.ValidatingWebhookConfigurationLister {
	return v.lister
}

type frozenMutating struct {
	admissionregistrationv1informers.TypedMutatingWebhookConfigurationInformer
	lister admissionregistrationv1listers.MutatingWebhookConfigurationLister
}

func (m frozenMutating) Informer() cache.SharedIndexInformer { return synced{} }
func (m frozenMutating) Lister() admissionregistrationv1listers.MutatingWebhookConfigurationLister {
	return m.lister
}

// synced is an informer that has synced and never sends an event.
type synced struct {
	cache.SharedIndexInformer
}

func (synced) HasSynced() bool { return true }

func (synced) AddEventHandler(cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	return registration{}, nil
}

type registration struct {
	cache.ResourceEventHandlerRegistration
}

func (registration) HasSynced() bool { return true }
