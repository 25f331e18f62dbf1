package accountmesh

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/accounttype"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/objectcount"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Lookup finds an account by cluster ID.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Index is what the registry needs of the account index.
type Index interface {
	Lookup
	Children
	Usage(id cluster.ID) (children, subtree int)
	Limits(id cluster.ID) (maxChild cluster.Limit, maxSubtree []cluster.Limit)
}

// Objects counts the objects of accounts and says their limits.
type Objects interface {
	Limit(ctx context.Context, id cluster.ID) (objectcount.Limit, bool)
	Count(id cluster.ID) int64
}

// NewStorage returns the storage of accounts, accounttypes and accountinfos. baseURL is the
// external URL of the server, e.g. https://127.0.0.1:6443; account URLs are
// baseURL/clusters/<path>. authz decides who may use which account type; purge deletes the
// content of deleted accounts; objects tells AccountInfo the objects an account stores.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, index Index, baseURL string,
	authz authorizer.Authorizer, purge PurgeFunc, objects Objects) (map[string]rest.Storage, error) {
	typeStorage, err := store.New(scheme, getter, accountTypeOptions(index))
	if err != nil {
		return nil, err
	}
	a := &accounts{
		index:   index,
		baseURL: baseURL,
		types:   storageTypes{getter: typeStorage["accounttypes"].(rest.Getter), index: index},
		authz:   authz,
	}
	storages, err := store.New(scheme, getter, store.Options{
		Resource:         corev1alpha1.Resource("accounts"),
		Singular:         "account",
		New:              func() runtime.Object { return &corev1alpha1.Account{} },
		NewList:          func() runtime.Object { return &corev1alpha1.AccountList{} },
		NameValidation:   apimachineryvalidation.NameIsDNSLabel,
		HasStatus:        true,
		PrepareForCreate: a.prepareForCreate,
		Validate:         a.validate,
		ValidateUpdate: func(ctx context.Context, obj, old runtime.Object) field.ErrorList {
			return append(validateUpdate(ctx, obj, old), validateShadowMarks(ctx, obj.(*corev1alpha1.Account), old.(*corev1alpha1.Account))...)
		},
		PrepareForStatusUpdate: keepIdentity,
		ValidateStatusUpdate:   validateStatus,
		Columns: []store.Column{
			{Name: "Type", Type: "string", Description: "The account's type.", Value: func(obj runtime.Object) interface{} {
				return obj.(*corev1alpha1.Account).Spec.Type
			}},
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
	storages["accountinfos"] = &InfoREST{index: index, objects: objects}
	storages["accounts/content"] = &ContentREST{accounts: storages["accounts"].(rest.Getter), children: index, purge: purge}
	storages["accounttypes"] = typeStorage["accounttypes"]
	return storages, nil
}

// reservedNames cannot be used as account names.
var reservedNames = []string{cluster.RootPath, "system"}

type accounts struct {
	index   Lookup
	baseURL string
	types   storageTypes
	authz   authorizer.Authorizer
}

// parentType resolves the type of the account a request is made in.
func (a *accounts) parentType(ctx context.Context) (*accounttype.Type, cluster.ID, error) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return nil, "", fmt.Errorf("the request names no account")
	}
	e, ok := a.index.Lookup(id)
	if !ok {
		return nil, "", fmt.Errorf("the parent account is not known")
	}
	// An account's type was resolved from where its Account object lives: its parent.
	from := e.Parent
	if from == "" {
		from = id
	}
	t, err := a.types.resolve(ctx, from, e.Type)
	if err != nil {
		return nil, "", fmt.Errorf("failed to resolve the type %q of the parent account %s: %w", e.Type, e.Path, err)
	}
	return t, id, nil
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
	if !slices.Contains(acc.Finalizers, corev1alpha1.AccountFinalizer) {
		acc.Finalizers = append(acc.Finalizers, corev1alpha1.AccountFinalizer)
	}
	if acc.Spec.Owner == "" {
		if u, ok := genericapirequest.UserFrom(ctx); ok {
			acc.Spec.Owner = u.GetName()
		}
	}
	// Resolution errors are reported by validate.
	parentType, parentID, err := a.parentType(ctx)
	if err != nil {
		return
	}
	if acc.Spec.Type == "" {
		acc.Spec.Type = parentType.DefaultChildType
	}
	t, err := a.types.resolve(ctx, parentID, acc.Spec.Type)
	if err != nil {
		return
	}
	if len(t.Labels) > 0 && acc.Labels == nil {
		acc.Labels = map[string]string{}
	}
	maps.Copy(acc.Labels, t.Labels)
	acc.Status.Initializers = t.AccountInitializers()
	acc.Status.Terminators = slices.Clone(t.Terminators)
	corev1alpha1.SetInitializingConditions(&acc.Status, 1)
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
	if slices.Contains(reservedNames, acc.Name) || strings.HasPrefix(acc.Name, "system-") {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), acc.Name, "the name is reserved"))
	}
	errs = append(errs, a.validateType(ctx, acc)...)
	errs = append(errs, validateShadowMarks(ctx, acc, nil)...)
	if len(acc.Spec.DisplayName) > 256 {
		errs = append(errs, field.TooLong(field.NewPath("spec", "displayName"), "", 256))
	}
	if len(acc.Spec.Description) > 4096 {
		errs = append(errs, field.TooLong(field.NewPath("spec", "description"), "", 4096))
	}
	return errs
}

// validateType checks that the account's type exists, may be created in the parent's type,
// and may be used by the requesting user.
func (a *accounts) validateType(ctx context.Context, acc *corev1alpha1.Account) field.ErrorList {
	typePath := field.NewPath("spec", "type")
	parentType, parentID, err := a.parentType(ctx)
	if err != nil {
		return field.ErrorList{field.InternalError(typePath, err)}
	}
	if acc.Spec.Type == "" {
		return field.ErrorList{field.Required(typePath, fmt.Sprintf("the parent account's type %q has no default child type", parentType.Name))}
	}
	t, err := a.types.resolve(ctx, parentID, acc.Spec.Type)
	var nf *accounttype.NotFoundError
	switch {
	case errors.As(err, &nf):
		return field.ErrorList{field.NotFound(typePath, acc.Spec.Type)}
	case err != nil:
		return field.ErrorList{field.Invalid(typePath, acc.Spec.Type, err.Error())}
	}
	if err := accounttype.CheckChild(parentType, t); err != nil {
		return field.ErrorList{field.Forbidden(typePath, err.Error())}
	}
	u, hasUser := genericapirequest.UserFrom(ctx)
	if reserved, ok := t.Reserved(); ok && (reserved == corev1alpha1.TypeRoot || !hasUser || !authorization.IsPrivileged(u)) {
		return field.ErrorList{field.Forbidden(typePath, fmt.Sprintf("account type %q is reserved to the platform", reserved))}
	}
	if hasUser && a.authz != nil {
		decision, reason, err := a.authz.Authorize(cluster.WithCluster(ctx, t.DefinedIn), authorizer.AttributesRecord{
			User: u, Verb: "use", APIGroup: corev1alpha1.GroupName, APIVersion: corev1alpha1.SchemeGroupVersion.Version,
			Resource: "accounttypes", Name: t.Name, ResourceRequest: true,
		})
		if err != nil || decision != authorizer.DecisionAllow {
			// A type the user may neither use nor read reads like an absent one: its name
			// says nothing of an ancestor's definitions.
			if !a.mayRead(ctx, u, t) {
				return field.ErrorList{field.NotFound(typePath, acc.Spec.Type)}
			}
			return field.ErrorList{field.Forbidden(typePath, fmt.Sprintf("user %q may not use account type %q: %s", u.GetName(), t.Name, reason))}
		}
	}
	return nil
}

// mayRead reports whether u may read account type t where it is defined.
func (a *accounts) mayRead(ctx context.Context, u user.Info, t *accounttype.Type) bool {
	decision, _, err := a.authz.Authorize(cluster.WithCluster(ctx, t.DefinedIn), authorizer.AttributesRecord{
		User: u, Verb: "get", APIGroup: corev1alpha1.GroupName, APIVersion: corev1alpha1.SchemeGroupVersion.Version,
		Resource: "accounttypes", Name: t.Name, ResourceRequest: true,
	})
	return err == nil && decision == authorizer.DecisionAllow
}

func validateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	acc, oldAcc := obj.(*corev1alpha1.Account), old.(*corev1alpha1.Account)
	var errs field.ErrorList
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(acc.Spec.Type, oldAcc.Spec.Type, field.NewPath("spec", "type"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(acc.Spec.Owner, oldAcc.Spec.Owner, field.NewPath("spec", "owner"))...)
	return errs
}

// validateShadowMarks refuses the label and annotation that mark a shadow account on any other
// account, and any change of them but by the platform (system:masters): a user cannot make an
// account look like, or stop looking like, the shadow account of a consumer organisation.
func validateShadowMarks(ctx context.Context, acc, old *corev1alpha1.Account) field.ErrorList {
	marks := []struct {
		path  *field.Path
		key   string
		value func(a *corev1alpha1.Account) (string, bool)
	}{
		{field.NewPath("metadata", "labels"), corev1alpha1.ConsumerOrgLabel, func(a *corev1alpha1.Account) (string, bool) {
			v, ok := a.Labels[corev1alpha1.ConsumerOrgLabel]
			return v, ok
		}},
		{field.NewPath("metadata", "annotations"), corev1alpha1.ServiceExportsAnnotation, func(a *corev1alpha1.Account) (string, bool) {
			v, ok := a.Annotations[corev1alpha1.ServiceExportsAnnotation]
			return v, ok
		}},
		{field.NewPath("metadata", "annotations"), corev1alpha1.ServicePlansAnnotation, func(a *corev1alpha1.Account) (string, bool) {
			v, ok := a.Annotations[corev1alpha1.ServicePlansAnnotation]
			return v, ok
		}},
	}
	u, hasUser := genericapirequest.UserFrom(ctx)
	platform := hasUser && authorization.IsPrivileged(u)
	var errs field.ErrorList
	for _, m := range marks {
		v, ok := m.value(acc)
		if ok && acc.Spec.Type != corev1alpha1.TypeShadow {
			errs = append(errs, field.Forbidden(m.path.Key(m.key), "only shadow accounts carry it"))
			continue
		}
		if platform {
			continue
		}
		var oldV string
		var oldOK bool
		if old != nil {
			oldV, oldOK = m.value(old)
		}
		if ok != oldOK || v != oldV {
			errs = append(errs, field.Forbidden(m.path.Key(m.key), "only the platform sets it"))
		}
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
