package accountmesh

import (
	"context"
	"math"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// InfoREST serves the AccountInfo singleton of every account from the account index.
type InfoREST struct {
	index   Index
	objects Objects
}

var (
	_ rest.Getter               = &InfoREST{}
	_ rest.Lister               = &InfoREST{}
	_ rest.Scoper               = &InfoREST{}
	_ rest.SingularNameProvider = &InfoREST{}
)

var infoTable = store.NewTableConvertor(corev1alpha1.Resource("accountinfos"),
	store.Column{Name: "Path", Type: "string", Description: "Position of the account in the tree.", Value: func(obj runtime.Object) interface{} {
		return obj.(*corev1alpha1.AccountInfo).Spec.Path
	}},
	store.Column{Name: "Type", Type: "string", Description: "The account's type.", Value: func(obj runtime.Object) interface{} {
		return obj.(*corev1alpha1.AccountInfo).Spec.Type
	}},
	store.Column{Name: "Cluster ID", Type: "string", Description: "Opaque, immutable ID of the account.", Value: func(obj runtime.Object) interface{} {
		return obj.(*corev1alpha1.AccountInfo).Spec.ClusterID
	}},
)

// New implements rest.Storage.
func (r *InfoREST) New() runtime.Object { return &corev1alpha1.AccountInfo{} }

// NewList implements rest.Lister.
func (r *InfoREST) NewList() runtime.Object { return &corev1alpha1.AccountInfoList{} }

// Destroy implements rest.Storage.
func (r *InfoREST) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (r *InfoREST) NamespaceScoped() bool { return false }

// GetSingularName implements rest.SingularNameProvider.
func (r *InfoREST) GetSingularName() string { return "accountinfo" }

// ConvertToTable implements rest.TableConvertor.
func (r *InfoREST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return infoTable.ConvertToTable(ctx, obj, opts)
}

// info builds the AccountInfo of the request's account.
func (r *InfoREST) info(ctx context.Context) (*corev1alpha1.AccountInfo, error) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil, apierrors.NewMethodNotSupported(corev1alpha1.Resource("accountinfos"), "get across all accounts (/clusters/*)")
	}
	e, ok := r.index.Lookup(id)
	if !ok {
		return nil, apierrors.NewNotFound(corev1alpha1.Resource("accountinfos"), corev1alpha1.AccountInfoName)
	}
	info := &corev1alpha1.AccountInfo{
		ObjectMeta: metav1.ObjectMeta{
			Name:        corev1alpha1.AccountInfoName,
			Annotations: map[string]string{corev1alpha1.ClusterAnnotation: string(id)},
		},
		Spec: corev1alpha1.AccountInfoSpec{
			Path: e.Path, ClusterID: string(e.ID), Type: e.Type, Owner: e.Owner,
		},
	}
	if !e.Created.IsZero() {
		created := metav1.NewTime(e.Created)
		info.Spec.CreatedAt, info.CreationTimestamp = &created, created
	}
	if e.Parent != "" {
		if p, ok := r.index.Lookup(e.Parent); ok {
			info.Spec.Parent = &corev1alpha1.AccountReference{Path: p.Path, ClusterID: string(p.ID)}
		}
	}
	if e.Shadow != nil {
		org := corev1alpha1.AccountReference{ClusterID: string(e.Shadow.ConsumerOrg)}
		if o, ok := r.index.Lookup(e.Shadow.ConsumerOrg); ok {
			org.Path = o.Path
		}
		info.Spec.Consumer = &corev1alpha1.ConsumerInfo{Organization: org, Exports: e.Shadow.Exports}
		for _, p := range e.Shadow.Plans {
			if export, plan, ok := strings.Cut(p, "="); ok {
				info.Spec.Consumer.Plans = append(info.Spec.Consumer.Plans, corev1alpha1.ServicePlan{Export: export, Plan: plan})
			}
		}
	}
	info.Spec.Usage = r.usage(ctx, id)
	// The organisation is the nearest org on the way up, the account itself included.
	for a, ok := e, true; ok; a, ok = r.index.Lookup(a.Parent) {
		if a.Type == corev1alpha1.TypeOrg {
			info.Spec.Organization = &corev1alpha1.AccountReference{Path: a.Path, ClusterID: string(a.ID)}
			break
		}
		if a.Parent == "" {
			break
		}
	}
	return info, nil
}

// usage counts the accounts below id against the limits that apply to them.
func (r *InfoREST) usage(ctx context.Context, id cluster.ID) *corev1alpha1.AccountUsage {
	children, subtree := r.index.Usage(id)
	u := &corev1alpha1.AccountUsage{ChildAccounts: int32(min(children, math.MaxInt32)), SubtreeAccounts: int32(min(subtree, math.MaxInt32))}
	limit := func(l cluster.Limit) *corev1alpha1.EffectiveLimit {
		e, ok := r.index.Lookup(l.SetBy)
		if !ok {
			return nil
		}
		return &corev1alpha1.EffectiveLimit{Value: l.Value, SetBy: e.Path}
	}
	maxChild, maxSubtree := r.index.Limits(id)
	if maxChild.SetBy != "" {
		u.MaxChildAccounts = limit(maxChild)
	}
	for _, l := range maxSubtree {
		if u.MaxSubtreeAccounts == nil || l.Value < u.MaxSubtreeAccounts.Value {
			u.MaxSubtreeAccounts = limit(l)
		}
	}
	if r.objects != nil {
		u.Objects = r.objects.Count(id)
		if l, ok := r.objects.Limit(ctx, id); ok {
			u.MaxObjects = &corev1alpha1.EffectiveLimit{Value: int32(min(l.Value, math.MaxInt32)), Source: l.Source, Type: l.Type}
			if e, ok := r.index.Lookup(l.SetBy); ok && l.SetBy != "" {
				u.MaxObjects.SetBy = e.Path
			}
		}
	}
	return u
}

// Get implements rest.Getter.
func (r *InfoREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if name != corev1alpha1.AccountInfoName {
		return nil, apierrors.NewNotFound(corev1alpha1.Resource("accountinfos"), name)
	}
	return r.info(ctx)
}

// List implements rest.Lister: the list holds the singleton when it matches the selectors.
func (r *InfoREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	info, err := r.info(ctx)
	if err != nil {
		return nil, err
	}
	list := &corev1alpha1.AccountInfoList{}
	label, field := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		label = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		field = options.FieldSelector
	}
	if label.Matches(labels.Set(info.Labels)) && field.Matches(fields.Set{"metadata.name": info.Name}) {
		list.Items = append(list.Items, *info)
	}
	return list, nil
}
