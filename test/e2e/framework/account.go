package framework

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// AccountsGVR is the resource of Account objects.
var AccountsGVR = schema.GroupVersionResource{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accounts"}

// Account is a test's account fixture.
type Account struct {
	// Name is the Account object's name in the parent.
	Name string
	// Path is the account path, e.g. root:e2e-abc12.
	Path string
	// ClusterID is the account's cluster ID.
	ClusterID string
	// Kubeconfig is a kubeconfig whose current context is this account.
	Kubeconfig string
	// Config is an admin client config for the account.
	Config *rest.Config
	// Kube is a typed client for the account.
	Kube kubernetes.Interface
	// Dynamic is a dynamic client for the account.
	Dynamic dynamic.Interface
}

// RandomName returns prefix followed by 6 random lowercase characters.
func RandomName(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// NewAccount creates a child account with a random name in parentPath, waits until it is
// Ready, and returns its fixture.
func (s *Server) NewAccount(t testing.TB, parentPath string) *Account {
	t.Helper()
	return s.CreateAccount(t, parentPath, RandomName("e2e-"))
}

// CreateAccount creates the child account name in parentPath and waits until it is Ready.
func (s *Server) CreateAccount(t testing.TB, parentPath, name string) *Account {
	t.Helper()
	ctx := t.Context()
	d, err := dynamic.NewForConfig(s.ConfigFor(parentPath))
	require.NoError(t, err)
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
	obj.SetKind("Account")
	obj.SetName(name)
	_, err = d.Resource(AccountsGVR).Create(ctx, obj, metav1.CreateOptions{})
	require.NoError(t, err, "failed to create account %s in %s", name, parentPath)
	acc := s.WaitForAccountReady(ctx, t, parentPath, name)
	return acc
}

// WaitForAccountReady waits until Account name in parentPath is Ready and returns its fixture.
func (s *Server) WaitForAccountReady(ctx context.Context, t testing.TB, parentPath, name string) *Account {
	t.Helper()
	d, err := dynamic.NewForConfig(s.ConfigFor(parentPath))
	require.NoError(t, err)
	var got *unstructured.Unstructured
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err = d.Resource(AccountsGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
		return phase == "Ready", nil
	})
	require.NoError(t, err, "account %s in %s did not become Ready: %v", name, parentPath, got)
	path, _, _ := unstructured.NestedString(got.Object, "status", "path")
	id, _, _ := unstructured.NestedString(got.Object, "status", "clusterID")
	acc := s.accountFixture(t, name, path, id)
	// Tests compare the content of their accounts before and after what they do: let the
	// controllers finish the default namespace first.
	WaitForNamespaceDefaults(t, acc.Kube, metav1.NamespaceDefault)
	return acc
}

// Names of what the controllers create in every namespace, as upstream's do.
const (
	DefaultServiceAccount = "default"
	RootCAConfigMap       = "kube-root-ca.crt"
)

// WaitForNamespaceDefaults waits until a namespace holds the default ServiceAccount and the CA
// bundle ConfigMap.
func WaitForNamespaceDefaults(t testing.TB, kube kubernetes.Interface, namespace string) {
	t.Helper()
	Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().ServiceAccounts(namespace).Get(ctx, DefaultServiceAccount, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		_, err = kube.CoreV1().ConfigMaps(namespace).Get(ctx, RootCAConfigMap, metav1.GetOptions{})
		return err == nil, nil
	}, "namespace %s did not get its default ServiceAccount and %s", namespace, RootCAConfigMap)
}

func (s *Server) accountFixture(t testing.TB, name, path, id string) *Account {
	t.Helper()
	cfg := s.ConfigFor(path)
	kube, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	d, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	return &Account{
		Name: name, Path: path, ClusterID: id,
		Kubeconfig: s.WriteKubeconfig(t, path),
		Config:     cfg, Kube: kube, Dynamic: d,
	}
}

// WriteKubeconfig writes a copy of the admin kubeconfig whose server is the given account and
// returns its path.
func (s *Server) WriteKubeconfig(t testing.TB, pathOrID string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	require.NoError(t, err)
	for _, c := range cfg.Clusters {
		c.Server = s.URL(pathOrID)
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, file))
	return file
}

// Eventually polls cond every 20ms until it returns true or the timeout expires.
func Eventually(t testing.TB, timeout time.Duration, cond func(ctx context.Context) (bool, error), msgAndArgs ...interface{}) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, cond)
	require.NoError(t, err, msgAndArgs...)
}

// String describes the account for messages.
func (a *Account) String() string {
	return fmt.Sprintf("%s (%s)", a.Path, a.ClusterID)
}

// DynamicFor returns a dynamic client for a config.
func DynamicFor(cfg *rest.Config) (dynamic.Interface, error) {
	return dynamic.NewForConfig(cfg)
}

// Root returns the fixture of the root account. Tests that write into root must use names
// no other test uses.
func (s *Server) Root(t testing.TB) *Account {
	t.Helper()
	ctx := t.Context()
	d, err := dynamic.NewForConfig(s.ConfigFor("root"))
	require.NoError(t, err)
	info, err := d.Resource(schema.GroupVersionResource{Group: "core.accountmesh.io", Version: "v1alpha1", Resource: "accountinfos"}).
		Get(ctx, "account", metav1.GetOptions{})
	require.NoError(t, err)
	id, _, _ := unstructured.NestedString(info.Object, "spec", "clusterID")
	return s.accountFixture(t, "root", "root", id)
}
