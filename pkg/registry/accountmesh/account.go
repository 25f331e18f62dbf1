package accountmesh

import (
	"context"
	"fmt"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Lookup finds an account by cluster ID.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// NewStorage returns the storage of accounts and accountinfos. baseURL is the external URL of
// the server, e.g. https://127.0.0.1:6443; account URLs are baseURL/clusters/<path>.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, index Lookup, baseURL string) (map[string]rest.Storage, error) {
	a := &accounts{index: index, baseURL: baseURL}
	storages, err := store.New(scheme, getter, store.Options{
		Resource:               corev1alpha1.Resource("accounts"),
		Singular:               "account",
		New:                    func() runtime.Object { return &corev1alpha1.Account{} },
		NewList:                func() runtime.Object { return &corev1alpha1.AccountList{} },
		NameValidation:         apimachineryvalidation.NameIsDNSLabel,
		HasStatus:              true,
		PrepareForCreate:       a.prepareForCreate,
		Validate:               a.validate,
		ValidateUpdate:         func(context.Context, runtime.Object, runtime.Object) field.ErrorList { return nil },
		PrepareForStatusUpdate: keepIdentity,
		ValidateStatusUpdate:   validateStatus,
		Columns: []store.Column{
			{Name: "Phase", Type: "string", Description: "Lifecycle phase of the account.", Value: func(obj runtime.Object) interface{} {
				return string(obj.(*corev1alpha1.Account).Status.Phase)
			}},
			{Name: "URL", Type: "string", Description: "Where the account's API is served.", Value: func(obj runtime.Object) interface{} {
				return obj.(*corev1alpha1.Account).Status.URL
			}},
			{Name: "Cluster ID", Type: "string", Priority: 1, Description: "Opaque, immutable ID of the account.", Value: func(obj runtime.Object) interface{} {
				return obj.(*corev1alpha1.Account).Status.ClusterID
			}},
		},
	})
	if err != nil {
		return nil, err
	}
	storages["accountinfos"] = &InfoREST{index: index}
	return storages, nil
}

type accounts struct {
	index   Lookup
	baseURL string
}

// parentPath returns the path of the account a request is made in.
func (a *accounts) parentPath(ctx context.Context) (string, bool) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return "", false
	}
	e, ok := a.index.Lookup(id)
	return e.Path, ok
}

// prepareForCreate assigns the new account its identity; the account controller takes it
// from here.
func (a *accounts) prepareForCreate(ctx context.Context, obj runtime.Object) {
	acc := obj.(*corev1alpha1.Account)
	acc.Status.Phase = corev1alpha1.AccountPhaseInitializing
	acc.Status.ClusterID = string(cluster.NewID())
	if parent, ok := a.parentPath(ctx); ok {
		acc.Status.Path = cluster.Join(parent, acc.Name)
		acc.Status.URL = a.baseURL + cluster.URLPrefix + acc.Status.Path
	}
	for _, f := range acc.Finalizers {
		if f == corev1alpha1.AccountFinalizer {
			return
		}
	}
	acc.Finalizers = append(acc.Finalizers, corev1alpha1.AccountFinalizer)
}

func (a *accounts) validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	acc := obj.(*corev1alpha1.Account)
	var errs field.ErrorList
	parent, ok := a.parentPath(ctx)
	if !ok {
		return append(errs, field.InternalError(field.NewPath("metadata", "name"), fmt.Errorf("the parent account is unknown")))
	}
	if p := cluster.Join(parent, acc.Name); len(p) > cluster.MaxPathLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), acc.Name,
			fmt.Sprintf("the account path would be %d characters long; at most %d are allowed", len(p), cluster.MaxPathLength)))
	}
	if len(acc.Spec.DisplayName) > 256 {
		errs = append(errs, field.TooLong(field.NewPath("spec", "displayName"), "", 256))
	}
	if len(acc.Spec.Description) > 4096 {
		errs = append(errs, field.TooLong(field.NewPath("spec", "description"), "", 4096))
	}
	return errs
}

// keepIdentity keeps the server-assigned identity of an account through status updates. The
// URL is not identity: it follows the server's address.
func keepIdentity(_ context.Context, obj, old runtime.Object) {
	acc, oldAcc := obj.(*corev1alpha1.Account), old.(*corev1alpha1.Account)
	acc.Status.ClusterID = oldAcc.Status.ClusterID
	acc.Status.Path = oldAcc.Status.Path
}

func validateStatus(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	acc := obj.(*corev1alpha1.Account)
	switch acc.Status.Phase {
	case corev1alpha1.AccountPhaseInitializing, corev1alpha1.AccountPhaseReady, corev1alpha1.AccountPhaseTerminating:
		return nil
	default:
		return field.ErrorList{field.NotSupported(field.NewPath("status", "phase"), acc.Status.Phase, []string{
			string(corev1alpha1.AccountPhaseInitializing), string(corev1alpha1.AccountPhaseReady), string(corev1alpha1.AccountPhaseTerminating),
		})}
	}
}
