package authorization

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/admission/webhook"
	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Webhooks lists the webhook configurations that apply in an account.
type Webhooks interface {
	Effective(id cluster.ID) ([]webhook.Source[*admissionregistrationv1.ValidatingWebhookConfiguration], []webhook.Source[*admissionregistrationv1.MutatingWebhookConfiguration])
}

// EffectiveWebhookREST lists the webhook configurations that apply in the request's account.
type EffectiveWebhookREST struct {
	virtual
	webhooks Webhooks
	index    Lookup
}

var (
	_ rest.Getter               = &EffectiveWebhookREST{}
	_ rest.Lister               = &EffectiveWebhookREST{}
	_ rest.Scoper               = &EffectiveWebhookREST{}
	_ rest.SingularNameProvider = &EffectiveWebhookREST{}
)

var effectiveWebhookTable = store.NewTableConvertor(authorizationv1alpha1.Resource("effectivewebhooks"),
	store.Column{Name: "Type", Type: "string", Description: "Validating or mutating.", Value: func(obj runtime.Object) interface{} {
		if len(obj.(*authorizationv1alpha1.EffectiveWebhook).Spec.Mutating) > 0 {
			return "Mutating"
		}
		return "Validating"
	}},
	store.Column{Name: "Webhooks", Type: "integer", Description: "The number of webhooks.", Value: func(obj runtime.Object) interface{} {
		s := obj.(*authorizationv1alpha1.EffectiveWebhook).Spec
		return len(s.Validating) + len(s.Mutating)
	}},
	store.Column{Name: "Account", Type: "string", Description: "Where the configuration lives.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.EffectiveWebhook).Spec.Account
	}},
	store.Column{Name: "Inherited", Type: "boolean", Description: "Whether the configuration comes from an ancestor.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.EffectiveWebhook).Spec.Inherited
	}},
)

// New implements rest.Storage.
func (r *EffectiveWebhookREST) New() runtime.Object { return &authorizationv1alpha1.EffectiveWebhook{} }

// NewList implements rest.Lister.
func (r *EffectiveWebhookREST) NewList() runtime.Object {
	return &authorizationv1alpha1.EffectiveWebhookList{}
}

// GetSingularName implements rest.SingularNameProvider.
func (r *EffectiveWebhookREST) GetSingularName() string { return "effectivewebhook" }

// ConvertToTable implements rest.TableConvertor.
func (r *EffectiveWebhookREST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return effectiveWebhookTable.ConvertToTable(ctx, obj, opts)
}

func (r *EffectiveWebhookREST) list(ctx context.Context) (*authorizationv1alpha1.EffectiveWebhookList, error) {
	id, err := account(ctx, "effectivewebhooks")
	if err != nil {
		return nil, err
	}
	list := &authorizationv1alpha1.EffectiveWebhookList{Items: []authorizationv1alpha1.EffectiveWebhook{}}
	add := func(acc cluster.ID, inherited bool, obj metav1.Object, kind string, set func(*authorizationv1alpha1.EffectiveWebhookSpec)) {
		e, ok := r.index.Lookup(acc)
		if !ok {
			return
		}
		item := authorizationv1alpha1.EffectiveWebhook{
			ObjectMeta: metav1.ObjectMeta{Name: e.Path + "." + kind + "." + obj.GetName()},
			Spec: authorizationv1alpha1.EffectiveWebhookSpec{Account: e.Path, Inherited: inherited,
				Inheritable: webhook.Inherited(obj), ConfigurationName: obj.GetName()},
		}
		set(&item.Spec)
		list.Items = append(list.Items, item)
	}
	validating, mutating := r.webhooks.Effective(id)
	for _, s := range validating {
		add(s.Account, s.Inherited, s.Object, "validating", func(spec *authorizationv1alpha1.EffectiveWebhookSpec) {
			spec.Validating = s.Object.DeepCopy().Webhooks
		})
	}
	for _, s := range mutating {
		add(s.Account, s.Inherited, s.Object, "mutating", func(spec *authorizationv1alpha1.EffectiveWebhookSpec) {
			spec.Mutating = s.Object.DeepCopy().Webhooks
		})
	}
	return list, nil
}

// List implements rest.Lister; selectors are not supported.
func (r *EffectiveWebhookREST) List(ctx context.Context, _ *metainternalversion.ListOptions) (runtime.Object, error) {
	return r.list(ctx)
}

// Get implements rest.Getter.
func (r *EffectiveWebhookREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	list, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	return find(list.Items, name, "effectivewebhooks")
}
