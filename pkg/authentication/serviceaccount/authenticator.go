package serviceaccount

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/accountmesh/accountmesh/pkg/authentication"
	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// Getter returns the ServiceAccount namespace/name of account id, or a NotFound error.
type Getter func(ctx context.Context, id cluster.ID, namespace, name string) (*corev1.ServiceAccount, error)

// StorageGetter returns a Getter over the serviceaccounts REST storage, reading from its watch
// cache.
func StorageGetter(storage rest.Getter) Getter {
	return func(ctx context.Context, id cluster.ID, namespace, name string) (*corev1.ServiceAccount, error) {
		ctx = genericapirequest.WithNamespace(cluster.WithCluster(ctx, id), namespace)
		obj, err := storage.Get(ctx, name, &metav1.GetOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, err
		}
		sa, ok := obj.(*corev1.ServiceAccount)
		if !ok {
			return nil, fmt.Errorf("unexpected %T in the serviceaccounts storage", obj)
		}
		return sa, nil
	}
}

// Accounts is what the authenticator reads of the account tree; *cluster.Index is one.
type Accounts interface {
	Lookup(id cluster.ID) (cluster.Entry, bool)
}

// Authenticator authenticates ServiceAccount tokens in the account of the request.
type Authenticator struct {
	tokens   *Tokens
	get      Getter
	accounts Accounts
}

var _ authenticator.Token = &Authenticator{}

// NewAuthenticator returns an authenticator of the tokens issued by tokens, which looks up
// ServiceAccounts with get and shadow accounts in accounts.
func NewAuthenticator(tokens *Tokens, get Getter, accounts Accounts) *Authenticator {
	return &Authenticator{tokens: tokens, get: get, accounts: accounts}
}

// AuthenticateToken implements authenticator.Token. Tokens of other issuers are passed over;
// ours are accepted only in the account the request addresses (cluster.FromContext), or at a
// provider view of that account's exports, or in a shadow account whose parent it is (where
// the provider's controllers keep their customers' state; pkg/authorization makes them admin
// there only while they hold content rights on an export the shadow account serves), only for
// the audiences the request asks for
// (authenticator.AudiencesFrom, the API audiences by default), and only while the ServiceAccount
// exists with the UID the token was issued for. The user is confined to the account
// (authentication.AccountExtraKey): grants elsewhere to a ServiceAccount of the same name are
// not its own. The response's audiences are those of the token that the request asked for.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	wanted, ok := authenticator.AudiencesFrom(ctx)
	if !ok || len(wanted) == 0 {
		wanted = a.tokens.APIAudiences()
	}
	c, err := a.tokens.Verify(token, wanted)
	if errors.Is(err, ErrNotOurs) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	id, ok := cluster.FromContext(ctx)
	if v, isView := view.FromContext(ctx); isView {
		// A view addresses consumer accounts, but acts for the provider.
		id, ok = v.ProviderID, true
	} else if ok && string(id) != c.Cluster {
		id, ok = a.shadowParent(id)
	}
	if !ok || id == cluster.Wildcard || string(id) != c.Cluster {
		return nil, false, ErrWrongAccount
	}
	sa, err := a.get(ctx, id, c.Kubernetes.Namespace, c.Kubernetes.ServiceAccount.Name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, false, errors.New("the token's service account has been deleted")
	case err != nil:
		return nil, false, fmt.Errorf("failed to look up the token's service account: %w", err)
	case string(sa.UID) != c.Kubernetes.ServiceAccount.UID:
		return nil, false, errors.New("the token's service account has been deleted and recreated")
	case sa.DeletionTimestamp != nil:
		return nil, false, errors.New("the token's service account is being deleted")
	}
	return &authenticator.Response{
		Audiences: authenticator.Audiences(c.Audience).Intersect(wanted),
		User: &user.DefaultInfo{
			Name:   apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
			UID:    string(sa.UID),
			Groups: apiserverserviceaccount.MakeGroupNames(sa.Namespace),
			Extra: map[string][]string{
				user.CredentialIDKey:           {"JTI=" + c.ID},
				authentication.AccountExtraKey: {string(id)},
			},
		},
	}, true, nil
}

// shadowParent returns the parent of account id if id is a shadow account.
func (a *Authenticator) shadowParent(id cluster.ID) (cluster.ID, bool) {
	if a.accounts == nil {
		return "", false
	}
	e, ok := a.accounts.Lookup(id)
	if !ok || e.Shadow == nil || e.Parent == "" {
		return "", false
	}
	return e.Parent, true
}
