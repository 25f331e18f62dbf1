package authorization

import (
	"context"
	"strings"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/admission/validatingpolicy"
	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Policies lists the admission policy bindings that apply in an account.
type Policies interface {
	Effective(id cluster.ID) []validatingpolicy.Effective
}

// EffectivePolicyREST lists the admission policies that apply in the request's account.
type EffectivePolicyREST struct {
	virtual
	policies Policies
	index    Lookup
}

var (
	_ rest.Getter               = &EffectivePolicyREST{}
	_ rest.Lister               = &EffectivePolicyREST{}
	_ rest.Scoper               = &EffectivePolicyREST{}
	_ rest.SingularNameProvider = &EffectivePolicyREST{}
)

var effectivePolicyTable = store.NewTableConvertor(authorizationv1alpha1.Resource("effectivepolicies"),
	store.Column{Name: "Policy", Type: "string", Description: "The policy the binding binds.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.EffectivePolicy).Spec.Binding.PolicyName
	}},
	store.Column{Name: "Actions", Type: "string", Description: "What a failed validation does.", Value: func(obj runtime.Object) interface{} {
		actions := obj.(*authorizationv1alpha1.EffectivePolicy).Spec.Binding.ValidationActions
		s := make([]string, len(actions))
		for i, a := range actions {
			s[i] = string(a)
		}
		return strings.Join(s, ",")
	}},
	store.Column{Name: "Account", Type: "string", Description: "Where the binding lives.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.EffectivePolicy).Spec.Account
	}},
	store.Column{Name: "Inherited", Type: "boolean", Description: "Whether the binding comes from an ancestor.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.EffectivePolicy).Spec.Inherited
	}},
	store.Column{Name: "Export", Type: "string", Description: "The bound APIExport that brings the binding, if any.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.EffectivePolicy).Spec.Export
	}},
)

// New implements rest.Storage.
func (r *EffectivePolicyREST) New() runtime.Object { return &authorizationv1alpha1.EffectivePolicy{} }

// NewList implements rest.Lister.
func (r *EffectivePolicyREST) NewList() runtime.Object {
	return &authorizationv1alpha1.EffectivePolicyList{}
}

// GetSingularName implements rest.SingularNameProvider.
func (r *EffectivePolicyREST) GetSingularName() string { return "effectivepolicy" }

// ConvertToTable implements rest.TableConvertor.
func (r *EffectivePolicyREST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return effectivePolicyTable.ConvertToTable(ctx, obj, opts)
}

func (r *EffectivePolicyREST) list(ctx context.Context) (*authorizationv1alpha1.EffectivePolicyList, error) {
	id, err := account(ctx, "effectivepolicies")
	if err != nil {
		return nil, err
	}
	list := &authorizationv1alpha1.EffectivePolicyList{Items: []authorizationv1alpha1.EffectivePolicy{}}
	for _, e := range r.policies.Effective(id) {
		acc, ok := r.index.Lookup(e.Account)
		if !ok {
			continue
		}
		name := acc.Path + "." + e.Binding.Name
		if e.Export != "" {
			name = acc.Path + "." + e.Export + "." + e.Binding.Name
		}
		item := authorizationv1alpha1.EffectivePolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: authorizationv1alpha1.EffectivePolicySpec{
				Account: acc.Path, Inherited: e.Inherited, Inheritable: validatingpolicy.Inherited(e.Binding),
				Export: e.Export, BindingName: e.Binding.Name, Binding: *e.Binding.Spec.DeepCopy(),
			},
		}
		if e.Policy != nil {
			item.Spec.Policy = e.Policy.Spec.DeepCopy()
		}
		list.Items = append(list.Items, item)
	}
	return list, nil
}

// List implements rest.Lister; selectors are not supported.
func (r *EffectivePolicyREST) List(ctx context.Context, _ *metainternalversion.ListOptions) (runtime.Object, error) {
	return r.list(ctx)
}

// Get implements rest.Getter.
func (r *EffectivePolicyREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	list, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	return find(list.Items, name, "effectivepolicies")
}
