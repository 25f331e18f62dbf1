package console

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// askTokenScript is the exec credential plugin of a kubeconfig for a token user: it asks for
// the token on the terminal (kubectl --token=... skips it). $0 is the account.
const askTokenScript = `printf 'Bearer token for %s: ' "$0" >&2; stty -echo 2>/dev/null; IFS= read -r t; stty echo 2>/dev/null; printf '\n' >&2; ` +
	`printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$t"`

// serveKubeconfig answers GET /console/kubeconfig?account=<path>: a kubeconfig for the
// session's user in that account. It carries the server's URL and CA and a user entry that
// gets a credential by itself (OIDC: kubectl oidc-login with the issuer and kubectl's public
// client; a pasted token: a prompt for it), never the session's token nor any secret of the
// console. It changes nothing, so a GET without the CSRF token is safe; the session cookie is
// SameSite=Strict and a cross-site request is refused.
func (c *Console) serveKubeconfig(w http.ResponseWriter, req *http.Request) {
	x, _, err := c.session(req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		writeStatus(w, apierrors.NewForbidden(schema.GroupResource{Resource: "console"}, "", fmt.Errorf("cross-site requests are refused")))
		return
	}
	account := req.URL.Query().Get("account")
	if account == "" {
		account = x.account
	}
	if !validAccountName(account) {
		writeStatus(w, apierrors.NewBadRequest("account must be an account path or cluster ID"))
		return
	}
	data, err := clientcmd.Write(*kubeconfigFor(x, "https://"+req.Host, account, c.caCert))
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(account, ":", "_")+`.kubeconfig"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// kubeconfigFor returns the kubeconfig of session x for account on the server at base.
func kubeconfigFor(x *session, base, account string, ca []byte) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[account] = &clientcmdapi.Cluster{Server: base + cluster.URLPrefix + account, CertificateAuthorityData: ca}
	user := &clientcmdapi.AuthInfo{}
	if l := x.login; l != nil {
		args := []string{"oidc-login", "get-token", "--oidc-issuer-url=" + l.issuer, "--oidc-client-id=" + l.clientID}
		for _, s := range scopes[1:] {
			args = append(args, "--oidc-extra-scope="+s)
		}
		if len(l.ca) > 0 {
			args = append(args, "--certificate-authority-data="+base64.StdEncoding.EncodeToString(l.ca))
		}
		user.Exec = &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1", Command: "kubectl", Args: args,
			InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
			InstallHint:     "Install kubelogin (kubectl oidc-login): https://github.com/int128/kubelogin",
		}
	} else {
		user.Exec = &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1", Command: "sh", Args: []string{"-c", askTokenScript, account},
			InteractiveMode: clientcmdapi.AlwaysExecInteractiveMode,
			InstallHint:     "This kubeconfig asks for your bearer token on a terminal; or run kubectl with --token.",
		}
	}
	name := userName(x)
	cfg.AuthInfos[name] = user
	cfg.Contexts[account] = &clientcmdapi.Context{Cluster: account, AuthInfo: name}
	cfg.CurrentContext = account
	return cfg
}

// userName names the kubeconfig's user entry after the session's user, or "console-user".
func userName(x *session) string {
	if x.user == "" {
		return "console-user"
	}
	return url.PathEscape(x.user)
}
