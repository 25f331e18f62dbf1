package cli

import (
	"fmt"
	"net/url"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// clustersPrefix is the URL path prefix under which every account is served.
	clustersPrefix = "/clusters/"

	// CurrentContextName is the kubeconfig context (and cluster) that `kubectl mesh use` points
	// at the chosen account. It is a copy of the context the switch started from, so the user's
	// own contexts are never rewritten.
	CurrentContextName = "mesh"
	// PreviousContextName is the kubeconfig context (and cluster) that remembers the account
	// before the last switch, for `kubectl mesh use -`.
	PreviousContextName = "mesh-previous"
)

// AccountURL is a server URL split into the server's base URL and the account it addresses.
type AccountURL struct {
	// Base is everything before /clusters/, e.g. https://127.0.0.1:6443.
	Base string
	// Account is the account path or cluster ID after /clusters/, e.g. root:acme.
	Account string
}

// ParseAccountURL splits an account URL https://HOST:PORT[/prefix]/clusters/<path-or-id>.
func ParseAccountURL(server string) (AccountURL, error) {
	u, err := url.Parse(server)
	if err != nil {
		return AccountURL{}, fmt.Errorf("failed to parse server URL %q: %w", server, err)
	}
	i := strings.LastIndex(u.Path, clustersPrefix)
	if i < 0 || u.Host == "" {
		return AccountURL{}, fmt.Errorf("server URL %q is not an Account Mesh account URL (https://HOST:PORT/clusters/<account>)", server)
	}
	account := strings.TrimSuffix(u.Path[i+len(clustersPrefix):], "/")
	if account == "" || strings.Contains(account, "/") {
		return AccountURL{}, fmt.Errorf("server URL %q is not an Account Mesh account URL (https://HOST:PORT/clusters/<account>)", server)
	}
	base := *u
	base.Path, base.RawPath, base.RawQuery, base.Fragment = u.Path[:i], "", "", ""
	return AccountURL{Base: base.String(), Account: account}, nil
}

// For returns the URL of another account on the same server.
func (u AccountURL) For(account string) string {
	return u.Base + clustersPrefix + account
}

// String returns the URL of the account.
func (u AccountURL) String() string {
	return u.For(u.Account)
}

// SwitchAccount changes cfg so that its current context points at server: it copies the
// context named from and its cluster to CurrentContextName with the new server URL, keeps a
// copy of the context as it was under PreviousContextName, and makes CurrentContextName the
// current context. Other contexts, clusters and users are left alone.
func SwitchAccount(cfg *clientcmdapi.Config, from, server string) error {
	fromContext, ok := cfg.Contexts[from]
	if !ok || fromContext == nil {
		return fmt.Errorf("context %q not found in the kubeconfig", from)
	}
	fromCluster, ok := cfg.Clusters[fromContext.Cluster]
	if !ok || fromCluster == nil {
		return fmt.Errorf("cluster %q of context %q not found in the kubeconfig", fromContext.Cluster, from)
	}

	previousContext, previousCluster := fromContext.DeepCopy(), fromCluster.DeepCopy()
	previousContext.Cluster = PreviousContextName

	currentContext, currentCluster := fromContext.DeepCopy(), fromCluster.DeepCopy()
	currentContext.Cluster = CurrentContextName
	currentCluster.Server = server

	cfg.Clusters[PreviousContextName], cfg.Contexts[PreviousContextName] = previousCluster, previousContext
	cfg.Clusters[CurrentContextName], cfg.Contexts[CurrentContextName] = currentCluster, currentContext
	cfg.CurrentContext = CurrentContextName
	return nil
}

// PreviousAccount returns the account remembered under PreviousContextName, or "" if there is
// none.
func PreviousAccount(cfg *clientcmdapi.Config) string {
	ctx, ok := cfg.Contexts[PreviousContextName]
	if !ok || ctx == nil {
		return ""
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok || cluster == nil {
		return ""
	}
	u, err := ParseAccountURL(cluster.Server)
	if err != nil {
		return ""
	}
	return u.Account
}
