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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// rootCABundle waits until a namespace holds the CA bundle ConfigMap as the publisher writes it
// (the bundle under ca.crt only, the description annotation, mutable), with the bundle want
// unless want is empty, and returns the bundle.
func rootCABundle(t *testing.T, kube kubernetes.Interface, namespace, want string) string {
	t.Helper()
	var cm *corev1.ConfigMap
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := kube.CoreV1().ConfigMaps(namespace).Get(ctx, framework.RootCAConfigMap, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		cm = got
		return len(cm.Data) == 1 && cm.Data["ca.crt"] != "" && (want == "" || cm.Data["ca.crt"] == want) &&
			len(cm.BinaryData) == 0 && cm.Annotations["kubernetes.io/description"] != "" && (cm.Immutable == nil || !*cm.Immutable), nil
	})
	require.NoError(t, err, "namespace %s has no current %s; last seen: %v", namespace, framework.RootCAConfigMap, cm)
	return cm.Data["ca.crt"]
}

// defaultServiceAccount waits until a namespace holds the default ServiceAccount and returns it.
func defaultServiceAccount(t *testing.T, kube kubernetes.Interface, namespace string) *corev1.ServiceAccount {
	t.Helper()
	var sa *corev1.ServiceAccount
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		sa, err = kube.CoreV1().ServiceAccounts(namespace).Get(ctx, framework.DefaultServiceAccount, metav1.GetOptions{})
		return err == nil, nil
	}, "namespace %s has no default ServiceAccount", namespace)
	return sa
}

// TestNamespaceDefaults checks, as upstream's serviceaccounts controller and
// root-ca-cert-publisher guarantee, that every namespace of every account gets the default
// ServiceAccount and the kube-root-ca.crt ConfigMap, that both are restored after deletion or
// tampering, and that the bundle is the one that verifies the server.
func TestNamespaceDefaults(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	// In the namespaces of a brand new account, of the root account and of a new namespace.
	bundle := rootCABundle(t, acc.Kube, metav1.NamespaceDefault, "")
	require.Equal(t, strings.TrimSpace(string(server.Config.CAData)), strings.TrimSpace(bundle), "the bundle is the server's CA")
	defaultServiceAccount(t, acc.Kube, metav1.NamespaceDefault)
	root := server.Root(t)
	rootCABundle(t, root.Kube, metav1.NamespaceDefault, bundle)
	defaultServiceAccount(t, root.Kube, metav1.NamespaceDefault)
	ns := framework.RandomName("defaults-")
	framework.Kubectl(t, acc.Kubeconfig, "create", "namespace", ns)
	rootCABundle(t, acc.Kube, ns, bundle)
	sa := defaultServiceAccount(t, acc.Kube, ns)
	child := server.NewAccount(t, acc.Path)
	rootCABundle(t, child.Kube, metav1.NamespaceDefault, bundle)

	// The bundle verifies the server's serving certificate: a client that trusts only it works.
	cfg := rest.AnonymousClientConfig(acc.Config)
	cfg.CertData, cfg.KeyData = acc.Config.CertData, acc.Config.KeyData
	cfg.CertFile, cfg.KeyFile = acc.Config.CertFile, acc.Config.KeyFile
	cfg.CAFile, cfg.CAData = "", []byte(bundle)
	kube, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	_, err = kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err, "a client trusting only the published bundle reaches the server")
	cfg.CAData = []byte(otherCA(t))
	kube, err = kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	_, err = kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.ErrorContains(t, err, "certificate", "a client trusting another CA does not")

	// A deleted default ServiceAccount comes back, as a new object.
	framework.Kubectl(t, acc.Kubeconfig, "delete", "serviceaccount", "default", "-n", ns)
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		got, err := acc.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil && got.UID != sa.UID, nil
	}, "the default ServiceAccount was not recreated")

	// A deleted or changed bundle comes back, whatever was changed.
	framework.Kubectl(t, acc.Kubeconfig, "delete", "configmap", framework.RootCAConfigMap, "-n", ns)
	rootCABundle(t, acc.Kube, ns, bundle)
	for _, patch := range []string{
		`{"data":{"ca.crt":"not a CA"}}`,
		`{"data":{"extra":"x"}}`,
		`{"data":{"ca.crt":null},"binaryData":{"ca.crt":"bm90IGEgQ0E="}}`,
		`{"metadata":{"annotations":{"kubernetes.io/description":null}}}`,
		`{"data":{"ca.crt":"frozen"},"immutable":true}`,
	} {
		framework.Kubectl(t, acc.Kubeconfig, "patch", "configmap", framework.RootCAConfigMap, "-n", ns, "--type=merge", "-p", patch)
		t.Logf("patched %s with %s", framework.RootCAConfigMap, patch)
		rootCABundle(t, acc.Kube, ns, bundle)
	}

	// Nothing is created in a namespace that is being deleted.
	_, err = finalize(t, acc.Kube, ns, func(n *corev1.Namespace) { n.Spec.Finalizers = append(n.Spec.Finalizers, fakeFinalizer) })
	require.NoError(t, err)
	framework.Kubectl(t, acc.Kubeconfig, "delete", "namespace", ns, "--wait=false")
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		got, err := acc.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return err == nil && len(got.Spec.Finalizers) == 1, nil
	}, "the namespace was not emptied")
	for _, check := range []func() error{
		func() error {
			_, err := acc.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := acc.Kube.CoreV1().ConfigMaps(ns).Get(ctx, framework.RootCAConfigMap, metav1.GetOptions{})
			return err
		},
	} {
		require.Never(t, func() bool { return !apierrors.IsNotFound(check()) }, time.Second, 100*time.Millisecond,
			"an emptied, terminating namespace stays empty")
	}
	_, err = finalize(t, acc.Kube, ns, func(n *corev1.Namespace) { n.Spec.Finalizers = nil })
	require.NoError(t, err)
	_, err = acc.Kube.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
	require.True(t, apierrors.IsNotFound(err), "the namespace is gone: %v", err)
}

// otherCA returns the PEM of a fresh self-signed CA that signed nothing of the server's.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
