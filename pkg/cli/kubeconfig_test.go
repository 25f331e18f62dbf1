package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestParseAccountURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		server  string
		want    AccountURL
		wantErr string
	}{
		{name: "root", server: "https://127.0.0.1:6443/clusters/root", want: AccountURL{Base: "https://127.0.0.1:6443", Account: "root"}},
		{name: "nested", server: "https://127.0.0.1:6443/clusters/root:acme:team-a", want: AccountURL{Base: "https://127.0.0.1:6443", Account: "root:acme:team-a"}},
		{name: "trailing slash", server: "https://h:1/clusters/root:acme/", want: AccountURL{Base: "https://h:1", Account: "root:acme"}},
		{name: "cluster ID", server: "https://h:1/clusters/2x7hq0vkl5", want: AccountURL{Base: "https://h:1", Account: "2x7hq0vkl5"}},
		{name: "behind a path prefix", server: "https://proxy.example.com/mesh/clusters/root", want: AccountURL{Base: "https://proxy.example.com/mesh", Account: "root"}},
		{name: "no account", server: "https://127.0.0.1:6443", wantErr: "is not an Account Mesh account URL"},
		{name: "empty account", server: "https://127.0.0.1:6443/clusters/", wantErr: "is not an Account Mesh account URL"},
		{name: "more after the account", server: "https://h:1/clusters/root/api", wantErr: "is not an Account Mesh account URL"},
		{name: "no host", server: "/clusters/root", wantErr: "is not an Account Mesh account URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAccountURL(tt.server)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, got.Base+"/clusters/"+got.Account, got.String())
		})
	}
}

func testKubeconfig(current, server string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["root"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: []byte("ca")}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["root"] = &clientcmdapi.Context{Cluster: "root", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = current
	return cfg
}

func TestSwitchAccount(t *testing.T) {
	t.Parallel()
	const base = "https://127.0.0.1:6443/clusters/"
	tests := []struct {
		name         string
		cfg          *clientcmdapi.Config
		from         string
		switches     []string
		wantServer   string
		wantPrevious string
		wantErr      string
	}{
		{
			name: "first switch", cfg: testKubeconfig("root", base+"root"), from: "root",
			switches: []string{base + "root:acme"}, wantServer: base + "root:acme", wantPrevious: "root",
		},
		{
			name: "second switch remembers the first", cfg: testKubeconfig("root", base+"root"), from: "root",
			switches: []string{base + "root:acme", base + "root:acme:team-a"}, wantServer: base + "root:acme:team-a", wantPrevious: "root:acme",
		},
		{
			name: "unknown context", cfg: testKubeconfig("root", base+"root"), from: "nope",
			switches: []string{base + "root:acme"}, wantErr: `context "nope" not found`,
		},
		{
			name: "context without cluster", cfg: func() *clientcmdapi.Config {
				cfg := testKubeconfig("root", base+"root")
				cfg.Contexts["root"].Cluster = "gone"
				return cfg
			}(), from: "root",
			switches: []string{base + "root:acme"}, wantErr: `cluster "gone" of context "root" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from := tt.from
			var err error
			for _, server := range tt.switches {
				if err = SwitchAccount(tt.cfg, from, server); err != nil {
					break
				}
				from = tt.cfg.CurrentContext
			}
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, CurrentContextName, tt.cfg.CurrentContext)
			current := tt.cfg.Contexts[CurrentContextName]
			require.Equal(t, CurrentContextName, current.Cluster)
			require.Equal(t, "admin", current.AuthInfo)
			require.Equal(t, "default", current.Namespace)
			require.Equal(t, tt.wantServer, tt.cfg.Clusters[CurrentContextName].Server)
			require.Equal(t, []byte("ca"), tt.cfg.Clusters[CurrentContextName].CertificateAuthorityData)
			require.Equal(t, tt.wantPrevious, PreviousAccount(tt.cfg))
			// The user's own context and cluster are untouched.
			require.Equal(t, base+"root", tt.cfg.Clusters["root"].Server)
			require.Equal(t, "root", tt.cfg.Contexts["root"].Cluster)
		})
	}
}

func TestPreviousAccountWithoutSwitch(t *testing.T) {
	t.Parallel()
	require.Empty(t, PreviousAccount(testKubeconfig("root", "https://127.0.0.1:6443/clusters/root")))
}
