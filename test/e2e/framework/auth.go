package framework

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WriteTokenKubeconfig writes a kubeconfig for an account whose user presents a bearer token
// and no client certificate, and returns its path.
func (s *Server) WriteTokenKubeconfig(t testing.TB, pathOrID, token string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	require.NoError(t, err)
	for _, c := range cfg.Clusters {
		c.Server = s.URL(pathOrID)
	}
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{"user": {Token: token}}
	for _, c := range cfg.Contexts {
		c.AuthInfo = "user"
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, file))
	return file
}

// TokenConfig returns a client config for an account that authenticates with a bearer token.
func (s *Server) TokenConfig(pathOrID, token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(s.ConfigFor(pathOrID))
	cfg.BearerToken = token
	return cfg
}
