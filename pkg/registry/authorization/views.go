package authorization

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	authorizationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/authorization/v1alpha1"
	authz "github.com/accountmesh/accountmesh/pkg/authorization"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/registry/store"
)

// Lookup finds an account by cluster ID.
type Lookup interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Views is what the views need of the policy.
type Views interface {
	AccessibleAccounts(u user.Info, under cluster.ID) []cluster.ID
	Grants(id cluster.ID) []authz.Grant
}

// NewStorage returns the storage of authorization.accountmesh.io/v1alpha1, keyed by resource.
func NewStorage(views Views, policies Policies, webhooks Webhooks, index Lookup) map[string]rest.Storage {
	return map[string]rest.Storage{
		"accessibleaccounts": &AccessibleAccountREST{views: views, index: index},
		"accessgrants":       &AccessGrantREST{views: views, index: index},
		"effectivepolicies":  &EffectivePolicyREST{policies: policies, index: index},
		"effectivewebhooks":  &EffectiveWebhookREST{webhooks: webhooks, index: index},
	}
}

// account returns the account of a request, refusing the wildcard.
func account(ctx context.Context, resource string) (cluster.ID, error) {
	id, ok := cluster.FromContext(ctx)
	if !ok || id == cluster.Wildcard {
		return "", apierrors.NewMethodNotSupported(authorizationv1alpha1.Resource(resource), "list across all accounts (/clusters/*)")
	}
	return id, nil
}

// virtual is the common part of the virtual, cluster-scoped resources of this package.
type virtual struct{}

// Destroy implements rest.Storage.
func (virtual) Destroy() {}

// NamespaceScoped implements rest.Scoper.
func (virtual) NamespaceScoped() bool { return false }

// find returns the item of a list with the given name, or NotFound.
func find[T any, PT interface {
	*T
	runtime.Object
	GetName() string
}](items []T, name, resource string) (runtime.Object, error) {
	for i := range items {
		if p := PT(&items[i]); p.GetName() == name {
			return p, nil
		}
	}
	return nil, apierrors.NewNotFound(authorizationv1alpha1.Resource(resource), name)
}

// AccessibleAccountREST lists the accounts the caller can access in the request's subtree.
type AccessibleAccountREST struct {
	virtual
	views Views
	index Lookup
}

var (
	_ rest.Getter               = &AccessibleAccountREST{}
	_ rest.Lister               = &AccessibleAccountREST{}
	_ rest.Scoper               = &AccessibleAccountREST{}
	_ rest.SingularNameProvider = &AccessibleAccountREST{}
)

var accessibleTable = store.NewTableConvertor(authorizationv1alpha1.Resource("accessibleaccounts"),
	store.Column{Name: "Type", Type: "string", Description: "The account's type.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.AccessibleAccount).Spec.Type
	}},
	store.Column{Name: "Phase", Type: "string", Description: "The account's phase.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.AccessibleAccount).Status.Phase
	}},
	store.Column{Name: "Cluster ID", Type: "string", Description: "Opaque, immutable ID of the account.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.AccessibleAccount).Spec.ClusterID
	}},
)

// New implements rest.Storage.
func (r *AccessibleAccountREST) New() runtime.Object {
	return &authorizationv1alpha1.AccessibleAccount{}
}

// NewList implements rest.Lister.
func (r *AccessibleAccountREST) NewList() runtime.Object {
	return &authorizationv1alpha1.AccessibleAccountList{}
}

// GetSingularName implements rest.SingularNameProvider.
func (r *AccessibleAccountREST) GetSingularName() string { return "accessibleaccount" }

// ConvertToTable implements rest.TableConvertor.
func (r *AccessibleAccountREST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return accessibleTable.ConvertToTable(ctx, obj, opts)
}

func (r *AccessibleAccountREST) list(ctx context.Context) ([]authorizationv1alpha1.AccessibleAccount, error) {
	id, err := account(ctx, "accessibleaccounts")
	if err != nil {
		return nil, err
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user in the request")
	}
	return accessibleTree(r.views.AccessibleAccounts(u, id), r.index), nil
}

// accessibleTree returns the accessible accounts ids as a tree sorted by path: each names the
// nearest ancestor among them as its parent and counts the accounts that name it.
func accessibleTree(ids []cluster.ID, index Lookup) []authorizationv1alpha1.AccessibleAccount {
	items := make([]authorizationv1alpha1.AccessibleAccount, 0, len(ids))
	at := make(map[string]int, len(ids))
	for _, acc := range ids {
		e, ok := index.Lookup(acc)
		if !ok {
			continue
		}
		items = append(items, authorizationv1alpha1.AccessibleAccount{
			ObjectMeta: metav1.ObjectMeta{Name: e.Path},
			Spec:       authorizationv1alpha1.AccessibleAccountSpec{Path: e.Path, ClusterID: string(e.ID), Type: e.Type},
			Status:     authorizationv1alpha1.AccessibleAccountStatus{Phase: e.Phase},
		})
	}
	slices.SortFunc(items, func(a, b authorizationv1alpha1.AccessibleAccount) int { return strings.Compare(a.Name, b.Name) })
	for i := range items {
		at[items[i].Name] = i
	}
	for i := range items {
		p := items[i].Name
		for {
			cut := strings.LastIndex(p, cluster.PathSeparator)
			if cut < 0 {
				break
			}
			p = p[:cut]
			if j, ok := at[p]; ok {
				items[i].Spec.Parent = p
				items[j].Status.Children++
				break
			}
		}
	}
	return items
}

// accessibleFilter is what a list of accessible accounts selects: field requirements on exact
// values and a search in paths.
type accessibleFilter struct {
	exact  fields.Requirements
	search string
}

// newAccessibleFilter validates a field selector; the server has already refused fields it
// does not know.
func newAccessibleFilter(sel fields.Selector) (accessibleFilter, error) {
	var f accessibleFilter
	if sel == nil {
		return f, nil
	}
	for _, req := range sel.Requirements() {
		if req.Field != authorizationv1alpha1.AccessibleAccountSearchField {
			f.exact = append(f.exact, req)
			continue
		}
		if req.Operator == selection.NotEquals {
			return f, apierrors.NewBadRequest("field selector search supports only =: it selects the accounts whose path contains the value")
		}
		f.search = strings.ToLower(req.Value)
	}
	return f, nil
}

func (f accessibleFilter) matches(a *authorizationv1alpha1.AccessibleAccount) bool {
	if f.search != "" && !strings.Contains(strings.ToLower(a.Spec.Path), f.search) {
		return false
	}
	for _, req := range f.exact {
		var v string
		switch req.Field {
		case "metadata.name", authorizationv1alpha1.AccessibleAccountPathField:
			v = a.Spec.Path
		case authorizationv1alpha1.AccessibleAccountParentField:
			v = a.Spec.Parent
		case authorizationv1alpha1.AccessibleAccountTypeField:
			v = a.Spec.Type
		case authorizationv1alpha1.AccessibleAccountPhaseField:
			v = a.Status.Phase
		default:
			// metadata.namespace: these are cluster-scoped.
		}
		if (req.Operator == selection.NotEquals) == (v == req.Value) {
			return false
		}
	}
	return true
}

// List implements rest.Lister: field selectors (see AccessibleAccountFields) select, and
// limit and continue page through the list in path order. The accounts carry no labels here,
// so a label selector matches all or none of them.
func (r *AccessibleAccountREST) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	if opts == nil {
		opts = &metainternalversion.ListOptions{}
	}
	if opts.LabelSelector != nil && !opts.LabelSelector.Matches(labels.Set{}) {
		return &authorizationv1alpha1.AccessibleAccountList{Items: []authorizationv1alpha1.AccessibleAccount{}}, nil
	}
	filter, err := newAccessibleFilter(opts.FieldSelector)
	if err != nil {
		return nil, err
	}
	after, err := decodeContinue(opts.Continue)
	if err != nil {
		return nil, err
	}
	items, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	list := &authorizationv1alpha1.AccessibleAccountList{Items: []authorizationv1alpha1.AccessibleAccount{}}
	for i := range items {
		if items[i].Name <= after || !filter.matches(&items[i]) {
			continue
		}
		if opts.Limit > 0 && int64(len(list.Items)) == opts.Limit {
			list.Continue = encodeContinue(list.Items[len(list.Items)-1].Name)
			var remaining int64
			for j := i; j < len(items); j++ {
				if filter.matches(&items[j]) {
					remaining++
				}
			}
			list.RemainingItemCount = &remaining
			break
		}
		list.Items = append(list.Items, items[i])
	}
	return list, nil
}

// continueToken is the state of a paged list: the path of the last item returned.
type continueToken struct {
	After string `json:"after"`
}

func encodeContinue(after string) string {
	b, _ := json.Marshal(continueToken{After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var t continueToken
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.After == "" {
		return "", apierrors.NewBadRequest("invalid continue token: use the metadata.continue of the previous page")
	}
	return t.After, nil
}

// Get implements rest.Getter; the name is an account path.
func (r *AccessibleAccountREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	items, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	return find(items, name, "accessibleaccounts")
}

// AccessGrantREST lists the bindings that apply in the request's account.
type AccessGrantREST struct {
	virtual
	views Views
	index Lookup
}

var (
	_ rest.Getter               = &AccessGrantREST{}
	_ rest.Lister               = &AccessGrantREST{}
	_ rest.Scoper               = &AccessGrantREST{}
	_ rest.SingularNameProvider = &AccessGrantREST{}
)

var grantTable = store.NewTableConvertor(authorizationv1alpha1.Resource("accessgrants"),
	store.Column{Name: "Role", Type: "string", Description: "The role granted.", Value: func(obj runtime.Object) interface{} {
		g := obj.(*authorizationv1alpha1.AccessGrant)
		return g.Spec.RoleRef.Kind + "/" + g.Spec.RoleRef.Name
	}},
	store.Column{Name: "Subjects", Type: "string", Description: "Who holds the role.", Value: func(obj runtime.Object) interface{} {
		return SubjectsString(obj.(*authorizationv1alpha1.AccessGrant).Spec.Subjects)
	}},
	store.Column{Name: "Account", Type: "string", Description: "Where the binding lives.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.AccessGrant).Spec.Account
	}},
	store.Column{Name: "Inherited", Type: "boolean", Description: "Whether the binding comes from an ancestor.", Value: func(obj runtime.Object) interface{} {
		return obj.(*authorizationv1alpha1.AccessGrant).Spec.Inherited
	}},
)

// SubjectsString renders subjects as kind:name, ServiceAccounts as serviceaccount:ns:name.
func SubjectsString(subjects []rbacv1.Subject) string {
	parts := make([]string, 0, len(subjects))
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			parts = append(parts, fmt.Sprintf("serviceaccount:%s:%s", s.Namespace, s.Name))
		default:
			parts = append(parts, strings.ToLower(s.Kind)+":"+s.Name)
		}
	}
	return strings.Join(parts, ",")
}

// New implements rest.Storage.
func (r *AccessGrantREST) New() runtime.Object { return &authorizationv1alpha1.AccessGrant{} }

// NewList implements rest.Lister.
func (r *AccessGrantREST) NewList() runtime.Object { return &authorizationv1alpha1.AccessGrantList{} }

// GetSingularName implements rest.SingularNameProvider.
func (r *AccessGrantREST) GetSingularName() string { return "accessgrant" }

// ConvertToTable implements rest.TableConvertor.
func (r *AccessGrantREST) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return grantTable.ConvertToTable(ctx, obj, opts)
}

func (r *AccessGrantREST) list(ctx context.Context) (*authorizationv1alpha1.AccessGrantList, error) {
	id, err := account(ctx, "accessgrants")
	if err != nil {
		return nil, err
	}
	list := &authorizationv1alpha1.AccessGrantList{Items: []authorizationv1alpha1.AccessGrant{}}
	for _, g := range r.views.Grants(id) {
		e, ok := r.index.Lookup(g.Account)
		if !ok {
			continue
		}
		name := e.Path + ".clusterrolebinding." + g.Name
		if g.Namespace != "" {
			name = e.Path + ".rolebinding." + g.Namespace + "." + g.Name
		}
		list.Items = append(list.Items, authorizationv1alpha1.AccessGrant{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: authorizationv1alpha1.AccessGrantSpec{
				Account: e.Path, Inherited: g.Inherited, Inheritable: g.Inheritable, Kind: g.Kind,
				Name: g.Name, Namespace: g.Namespace, RoleRef: g.RoleRef, Subjects: g.Subjects,
			},
		})
	}
	return list, nil
}

// List implements rest.Lister; selectors are not supported.
func (r *AccessGrantREST) List(ctx context.Context, _ *metainternalversion.ListOptions) (runtime.Object, error) {
	return r.list(ctx)
}

// Get implements rest.Getter.
func (r *AccessGrantREST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	list, err := r.list(ctx)
	if err != nil {
		return nil, err
	}
	return find(list.Items, name, "accessgrants")
}
