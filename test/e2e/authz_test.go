package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// userConfig returns a client config for the account authenticated as user in groups, with a
// client certificate signed by the server's CA.
func userConfig(t testing.TB, pathOrID, user string, groups ...string) *rest.Config {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(server.RootDir, "pki", "ca.crt"))
	require.NoError(t, err)
	caKeyPEM, err := os.ReadFile(filepath.Join(server.RootDir, "pki", "ca.key"))
	require.NoError(t, err)
	caBlock, _ := pem.Decode(caPEM)
	caCert, err := x509.ParseCertificate(caBlock.Bytes)
	require.NoError(t, err)
	keyBlock, _ := pem.Decode(caKeyPEM)
	caKey, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)

	cfg := rest.AnonymousClientConfig(server.ConfigFor(pathOrID))
	cfg.CertData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cfg.KeyData = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return cfg
}

// userKubeconfig writes a kubeconfig for the account authenticated as user in groups and
// returns its path.
func userKubeconfig(t *testing.T, pathOrID, user string, groups ...string) string {
	t.Helper()
	cfg := userConfig(t, pathOrID, user, groups...)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["mesh"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: server.Config.CAData}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["mesh"] = &clientcmdapi.Context{Cluster: "mesh", AuthInfo: user}
	kc.CurrentContext = "mesh"
	file := filepath.Join(t.TempDir(), user+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*kc, file))
	return file
}

// TestWildcardIsForSystemMasters checks that only system:masters may list across accounts,
// and that unauthenticated callers get nothing.
func TestWildcardIsForSystemMasters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := server.NewAccount(t, "root")

	alice, err := kubernetes.NewForConfig(userConfig(t, "*", "alice", "developers"))
	require.NoError(t, err)
	_, err = alice.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "expected Forbidden, got %v", err)
	require.Contains(t, err.Error(), "system:masters")

	// Inside an account the same user needs a grant, which the wildcard never gives.
	aliceInA, err := kubernetes.NewForConfig(userConfig(t, a.Path, "alice", "developers"))
	require.NoError(t, err)
	_, err = aliceInA.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "expected Forbidden, got %v", err)
	framework.Kubectl(t, a.Kubeconfig, "create", "clusterrolebinding", "alice-view", "--clusterrole=view", "--user=alice")
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		_, err = aliceInA.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}, "alice's grant did not take effect")
	_, err = alice.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "expected Forbidden, got %v", err)

	admin, err := kubernetes.NewForConfig(userConfig(t, "*", "ops", "system:masters"))
	require.NoError(t, err)
	_, err = admin.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)

	anonymous, err := kubernetes.NewForConfig(rest.AnonymousClientConfig(server.ConfigFor(a.Path)))
	require.NoError(t, err)
	_, err = anonymous.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsUnauthorized(err), "expected Unauthorized, got %v", err)
}
