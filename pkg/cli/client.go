package cli

import (
	"context"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/client/clientset/versioned"
)

// AccountInfo is what the plugin reads from an account's AccountInfo singleton.
type AccountInfo struct {
	// Path is the account's path, e.g. root:acme.
	Path string
	// ClusterID is the account's cluster ID.
	ClusterID string
}

// accountClients makes clients for any account on one server. All of them share one HTTP
// client (and so one connection pool) and are not throttled on the client side: the tree
// command bounds its concurrency itself.
type accountClients struct {
	url        AccountURL
	config     *rest.Config
	httpClient *http.Client
}

func newAccountClients(config *rest.Config) (*accountClients, error) {
	u, err := ParseAccountURL(config.Host)
	if err != nil {
		return nil, err
	}
	config = rest.CopyConfig(config)
	config.QPS, config.Burst = -1, 0
	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, fmt.Errorf("failed to create an HTTP client: %w", err)
	}
	return &accountClients{url: u, config: config, httpClient: httpClient}, nil
}

// current is the account path or cluster ID the configuration points at.
func (c *accountClients) current() string {
	return c.url.Account
}

// clientFor returns a typed client of the accountmesh.io API groups for an account path or
// cluster ID.
func (c *accountClients) clientFor(account string) (versioned.Interface, error) {
	cfg := rest.CopyConfig(c.config)
	cfg.Host = c.url.For(account)
	cs, err := versioned.NewForConfigAndClient(cfg, c.httpClient)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for account %q: %w", account, err)
	}
	return cs, nil
}

// accountInfo reads the AccountInfo of an account path or cluster ID. It returns an
// *AccountNotFoundError if the account does not exist.
func (c *accountClients) accountInfo(ctx context.Context, account string) (AccountInfo, error) {
	cs, err := c.clientFor(account)
	if err != nil {
		return AccountInfo{}, err
	}
	info, err := cs.CoreV1alpha1().AccountInfos().Get(ctx, corev1alpha1.AccountInfoName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return AccountInfo{}, &AccountNotFoundError{Account: account, Err: err}
	}
	if err != nil {
		return AccountInfo{}, fmt.Errorf("failed to read the AccountInfo of account %q: %w", account, err)
	}
	if info.Spec.Path == "" {
		return AccountInfo{}, fmt.Errorf("the AccountInfo of account %q has no spec.path", account)
	}
	return AccountInfo{Path: info.Spec.Path, ClusterID: info.Spec.ClusterID}, nil
}

// currentPath returns the path of the account the configuration points at. A URL that names
// the account by path is taken as is; a cluster ID is resolved through its AccountInfo.
func (c *accountClients) currentPath(ctx context.Context) (string, error) {
	if ValidatePath(c.current()) == nil {
		return c.current(), nil
	}
	info, err := c.accountInfo(ctx, c.current())
	if err != nil {
		return "", err
	}
	return info.Path, nil
}
