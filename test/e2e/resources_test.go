package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// writeSelfSignedCert writes a self-signed certificate and its key as PEM files into a
// temporary directory and returns their paths and contents.
func writeSelfSignedCert(t *testing.T, host string) (certFile, keyFile string, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	return certFile, keyFile, certPEM, keyPEM
}

// TestResourcesSecrets creates secrets of several types with kubectl and client-go and checks
// types, stringData, immutability of the type and the type field selector.
func TestResourcesSecrets(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig
	secrets := a.Kube.CoreV1().Secrets("default")

	certFile, keyFile, certPEM, keyPEM := writeSelfSignedCert(t, "web.example.com")
	framework.Kubectl(t, kc, "create", "secret", "generic", "creds", "-n", "default", "--from-literal=user=admin", "--from-literal=pass=s3cret")
	framework.Kubectl(t, kc, "create", "secret", "tls", "web-tls", "-n", "default", "--cert", certFile, "--key", keyFile)
	framework.Kubectl(t, kc, "create", "secret", "docker-registry", "regcred", "-n", "default",
		"--docker-server=registry.example.com", "--docker-username=puller", "--docker-password=pw", "--docker-email=puller@example.com")

	t.Run("kubectl create", func(t *testing.T) {
		s, err := secrets.Get(ctx, "creds", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, corev1.SecretTypeOpaque, s.Type)
		require.Equal(t, map[string][]byte{"user": []byte("admin"), "pass": []byte("s3cret")}, s.Data)

		s, err = secrets.Get(ctx, "web-tls", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, corev1.SecretTypeTLS, s.Type)
		require.Equal(t, certPEM, s.Data[corev1.TLSCertKey])
		require.Equal(t, keyPEM, s.Data[corev1.TLSPrivateKeyKey])

		s, err = secrets.Get(ctx, "regcred", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, corev1.SecretTypeDockerConfigJson, s.Type)
		var cfg struct {
			Auths map[string]struct {
				Username string `json:"username"`
				Password string `json:"password"`
				Email    string `json:"email"`
			} `json:"auths"`
		}
		require.NoError(t, json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg))
		require.Equal(t, "puller", cfg.Auths["registry.example.com"].Username)
		require.Equal(t, "pw", cfg.Auths["registry.example.com"].Password)

		out := framework.Kubectl(t, kc, "get", "secret", "creds", "-n", "default", "-o", "jsonpath={.data.pass}")
		require.Equal(t, "s3cret", decodeSecretKey(t, out))

		out = framework.Kubectl(t, kc, "get", "secrets", "-n", "default")
		header, rows := kubectlTable(t, out)
		require.Equal(t, []string{"NAME", "TYPE", "DATA", "AGE"}, header, out)
		got := map[string][2]string{}
		for _, r := range rows {
			got[r["NAME"]] = [2]string{r["TYPE"], r["DATA"]}
		}
		require.Equal(t, map[string][2]string{
			"creds":   {"Opaque", "2"},
			"web-tls": {"kubernetes.io/tls", "2"},
			"regcred": {"kubernetes.io/dockerconfigjson", "1"},
		}, got, out)
	})

	t.Run("type field selector", func(t *testing.T) {
		tests := []struct {
			selector string
			want     string
		}{
			{selector: "type=kubernetes.io/tls", want: "secret/web-tls\n"},
			{selector: "type=kubernetes.io/dockerconfigjson", want: "secret/regcred\n"},
			{selector: "type=Opaque,metadata.name=creds", want: "secret/creds\n"},
			{selector: "type!=Opaque", want: "secret/regcred\nsecret/web-tls\n"},
			{selector: "type=kubernetes.io/basic-auth", want: ""},
		}
		for _, tc := range tests {
			out := framework.Kubectl(t, kc, "get", "secrets", "-n", "default", "--field-selector", tc.selector, "-o", "name")
			require.Equal(t, tc.want, out, "--field-selector %s", tc.selector)
		}
		list, err := a.Kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "type=kubernetes.io/tls"})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		require.Equal(t, "web-tls", list.Items[0].Name)
	})

	t.Run("stringData", func(t *testing.T) {
		created, err := secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "merged"},
			Data:       map[string][]byte{"a": []byte("from-data"), "keep": []byte("k")},
			StringData: map[string]string{"a": "from-stringData", "b": "bee"},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		require.Empty(t, created.StringData, "stringData is write-only")
		s, err := secrets.Get(ctx, "merged", metav1.GetOptions{})
		require.NoError(t, err)
		require.Empty(t, s.StringData)
		require.Equal(t, corev1.SecretTypeOpaque, s.Type, "the type defaults to Opaque")
		require.Equal(t, map[string][]byte{"a": []byte("from-stringData"), "b": []byte("bee"), "keep": []byte("k")}, s.Data)

		// An update merges stringData into the data it sends.
		s.StringData = map[string]string{"c": "sea", "keep": "changed"}
		s, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Empty(t, s.StringData)
		require.Equal(t, map[string][]byte{"a": []byte("from-stringData"), "b": []byte("bee"), "c": []byte("sea"), "keep": []byte("changed")}, s.Data)

		// kubectl apply with stringData.
		out := framework.KubectlStdin(t, kc, `apiVersion: v1
kind: Secret
metadata: {name: applied, namespace: default}
stringData:
  password: hunter2
`, "apply", "-f", "-")
		require.Contains(t, out, "secret/applied created")
		out = framework.Kubectl(t, kc, "get", "secret", "applied", "-n", "default", "-o", "jsonpath={.data.password}")
		require.Equal(t, "hunter2", decodeSecretKey(t, out))
		out = framework.Kubectl(t, kc, "get", "secret", "applied", "-n", "default", "-o", "jsonpath={.stringData}")
		require.Empty(t, out)
	})

	t.Run("type is immutable", func(t *testing.T) {
		s, err := secrets.Get(ctx, "creds", metav1.GetOptions{})
		require.NoError(t, err)
		s.Type = corev1.SecretTypeBasicAuth
		s.Data = map[string][]byte{corev1.BasicAuthUsernameKey: []byte("admin")}
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
		require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
		require.Contains(t, err.Error(), "type")
		require.Contains(t, err.Error(), "field is immutable")

		errOut := framework.KubectlFails(t, kc, "", "patch", "secret", "web-tls", "-n", "default", "--type=merge", "-p", `{"type":"Opaque"}`)
		require.Contains(t, errOut, `The Secret "web-tls" is invalid`)
		require.Contains(t, errOut, "type: Invalid value")
		require.Contains(t, errOut, "field is immutable")
		out := framework.Kubectl(t, kc, "get", "secret", "web-tls", "-n", "default", "-o", "jsonpath={.type}")
		require.Equal(t, "kubernetes.io/tls", out)
	})

	t.Run("type validation", func(t *testing.T) {
		errOut := framework.KubectlFails(t, kc, `apiVersion: v1
kind: Secret
metadata: {name: half-tls, namespace: default}
type: kubernetes.io/tls
stringData:
  tls.crt: only-a-cert
`, "create", "-f", "-")
		require.Contains(t, errOut, `The Secret "half-tls" is invalid`)
		require.Contains(t, errOut, "data[tls.key]: Required value")
	})
}

// TestResourcesServiceAccounts creates service accounts with kubectl and checks the SECRETS
// column.
func TestResourcesServiceAccounts(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig

	out := framework.Kubectl(t, kc, "create", "serviceaccount", "robot", "-n", "default")
	require.Equal(t, "serviceaccount/robot created\n", out)
	framework.Kubectl(t, kc, "create", "sa", "builder", "-n", "default")
	sa, err := a.Kube.CoreV1().ServiceAccounts("default").Get(ctx, "robot", metav1.GetOptions{})
	require.NoError(t, err)
	require.Empty(t, sa.Secrets)

	out = framework.Kubectl(t, kc, "get", "sa", "robot", "-n", "default")
	header, rows := kubectlTable(t, out)
	require.Equal(t, []string{"NAME", "SECRETS", "AGE"}, header, out)
	require.Len(t, rows, 1, out)
	require.Equal(t, "robot", rows[0]["NAME"], out)
	require.Equal(t, "0", rows[0]["SECRETS"], out)

	framework.Kubectl(t, kc, "patch", "sa", "builder", "-n", "default", "--type=merge",
		"-p", `{"secrets":[{"name":"builder-token"},{"name":"builder-ssh"}],"imagePullSecrets":[{"name":"regcred"}]}`)
	out = framework.Kubectl(t, kc, "get", "serviceaccounts", "-n", "default")
	_, rows = kubectlTable(t, out)
	got := map[string]string{}
	for _, r := range rows {
		got[r["NAME"]] = r["SECRETS"]
	}
	require.Equal(t, "2", got["builder"], out)
	require.Equal(t, "0", got["robot"], out)
	sa, err = a.Kube.CoreV1().ServiceAccounts("default").Get(ctx, "builder", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}}, sa.ImagePullSecrets)

	errOut := framework.KubectlFails(t, kc, "", "create", "sa", "robot", "-n", "default")
	require.Contains(t, errOut, `serviceaccounts "robot" already exists`)
	errOut = framework.KubectlFails(t, kc, "", "create", "sa", "Not_Valid", "-n", "default")
	require.Contains(t, errOut, `ServiceAccount "Not_Valid" is invalid`)
}

// TestResourcesLeases creates and updates leases directly and through client-go leader
// election, and checks the HOLDER column.
func TestResourcesLeases(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig
	leases := a.Kube.CoordinationV1().Leases("default")

	out := framework.KubectlStdin(t, kc, `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: lock, namespace: default}
spec:
  holderIdentity: holder-a
  leaseDurationSeconds: 15
  acquireTime: "2024-01-01T00:00:00.000000Z"
  renewTime: "2024-01-01T00:00:05.000000Z"
  leaseTransitions: 0
`, "apply", "-f", "-")
	require.Contains(t, out, "lease.coordination.k8s.io/lock created")

	out = framework.Kubectl(t, kc, "get", "lease", "lock", "-n", "default")
	header, rows := kubectlTable(t, out)
	require.Equal(t, []string{"NAME", "HOLDER", "AGE"}, header, out)
	require.Len(t, rows, 1, out)
	require.Equal(t, "holder-a", rows[0]["HOLDER"], out)

	lease, err := leases.Get(ctx, "lock", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(15), *lease.Spec.LeaseDurationSeconds)
	require.True(t, lease.Spec.RenewTime.Equal(ptr.To(metav1.NewMicroTime(time.Date(2024, 1, 1, 0, 0, 5, 0, time.UTC)))))

	// Take the lease over, as leader election does: optimistic concurrency decides.
	stale := lease.DeepCopy()
	lease.Spec.HolderIdentity = ptr.To("holder-b")
	lease.Spec.LeaseTransitions = ptr.To[int32](1)
	lease.Spec.AcquireTime = ptr.To(metav1.NowMicro())
	lease.Spec.RenewTime = lease.Spec.AcquireTime
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	require.NoError(t, err)
	stale.Spec.HolderIdentity = ptr.To("holder-c")
	_, err = leases.Update(ctx, stale, metav1.UpdateOptions{})
	require.True(t, apierrors.IsConflict(err), "a stale update must conflict, got %v", err)

	out = framework.Kubectl(t, kc, "get", "leases", "-n", "default")
	_, rows = kubectlTable(t, out)
	require.Len(t, rows, 1, out)
	require.Equal(t, "holder-b", rows[0]["HOLDER"], out)
	out = framework.Kubectl(t, kc, "get", "lease", "lock", "-n", "default", "-o", "jsonpath={.spec.leaseTransitions}")
	require.Equal(t, "1", out)

	// A lease without a holder prints an empty HOLDER.
	_, err = leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "free"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	out = framework.Kubectl(t, kc, "get", "lease", "free", "-n", "default")
	_, rows = kubectlTable(t, out)
	require.Equal(t, "", rows[0]["HOLDER"], out)

	// Invalid specs are rejected.
	errOut := framework.KubectlFails(t, kc, "", "patch", "lease", "lock", "-n", "default", "--type=merge", "-p", `{"spec":{"leaseDurationSeconds":0}}`)
	require.Contains(t, errOut, "spec.leaseDurationSeconds: Invalid value: 0")

	// client-go leader election acquires a lease and renews it.
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, "default", "elected", a.Kube.CoreV1(), a.Kube.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: "e2e-candidate"})
	require.NoError(t, err)
	leading := make(chan struct{})
	electionCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		leaderelection.RunOrDie(electionCtx, leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   15 * time.Second,
			RenewDeadline:   10 * time.Second,
			RetryPeriod:     200 * time.Millisecond,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) { close(leading) },
				OnStoppedLeading: func() {},
			},
		})
	}()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-leading:
	case <-time.After(30 * time.Second):
		t.Fatal("leader election did not acquire the lease")
	}
	out = framework.Kubectl(t, kc, "get", "lease", "elected", "-n", "default")
	_, rows = kubectlTable(t, out)
	require.Equal(t, "e2e-candidate", rows[0]["HOLDER"], out)
	first, err := leases.Get(ctx, "elected", metav1.GetOptions{})
	require.NoError(t, err)
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, "elected", metav1.GetOptions{})
		return err == nil && l.ResourceVersion != first.ResourceVersion && l.Spec.RenewTime.After(first.Spec.RenewTime.Time), nil
	}, "the leader did not renew its lease")

	// Releasing on cancel clears the holder.
	stop()
	<-done
	framework.Eventually(t, 10*time.Second, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, "elected", metav1.GetOptions{})
		return err == nil && (l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == ""), nil
	}, "the lease was not released")
}

// TestResourcesNamespaces checks the name label every namespace gets and the status.phase field
// selector.
func TestResourcesNamespaces(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig

	framework.Kubectl(t, kc, "create", "namespace", "team-x")
	framework.KubectlStdin(t, kc, `apiVersion: v1
kind: Namespace
metadata:
  name: team-y
  labels: {tier: backend}
`, "apply", "-f", "-")

	t.Run("name label", func(t *testing.T) {
		for _, name := range []string{"default", "team-x", "team-y"} {
			ns, err := a.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			require.NoError(t, err)
			require.Equal(t, name, ns.Labels[corev1.LabelMetadataName], "namespace %s", name)
		}
		ns, err := a.Kube.CoreV1().Namespaces().Get(ctx, "team-y", metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"tier": "backend", corev1.LabelMetadataName: "team-y"}, ns.Labels)

		out := framework.Kubectl(t, kc, "get", "ns", "-l", "kubernetes.io/metadata.name=team-x", "-o", "name")
		require.Equal(t, "namespace/team-x\n", out)
		out = framework.Kubectl(t, kc, "get", "ns", "-l", "kubernetes.io/metadata.name in (team-x,team-y)", "-o", "name")
		require.Equal(t, "namespace/team-x\nnamespace/team-y\n", out)

		// The label cannot be changed or removed: a real cluster sets it back to the name.
		framework.Kubectl(t, kc, "label", "namespace", "team-x", "kubernetes.io/metadata.name=other", "--overwrite")
		out = framework.Kubectl(t, kc, "get", "ns", "team-x", "-o", `jsonpath={.metadata.labels.kubernetes\.io/metadata\.name}`)
		require.Equal(t, "team-x", out)
		framework.Kubectl(t, kc, "label", "namespace", "team-x", "kubernetes.io/metadata.name-")
		out = framework.Kubectl(t, kc, "get", "ns", "team-x", "-o", `jsonpath={.metadata.labels.kubernetes\.io/metadata\.name}`)
		require.Equal(t, "team-x", out)
	})

	t.Run("phase field selector", func(t *testing.T) {
		// Hold a namespace in Terminating with a finalizer on its content.
		framework.Kubectl(t, kc, "create", "namespace", "going")
		_, err := a.Kube.CoreV1().ConfigMaps("going").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "pinned", Finalizers: []string{"example.com/hold"}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = a.Kube.CoreV1().ConfigMaps("going").Patch(context.WithoutCancel(ctx), "pinned", types.MergePatchType,
				[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		})
		framework.Kubectl(t, kc, "delete", "namespace", "going", "--wait=false")
		framework.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			ns, err := a.Kube.CoreV1().Namespaces().Get(ctx, "going", metav1.GetOptions{})
			return err == nil && ns.Status.Phase == corev1.NamespaceTerminating, nil
		}, "namespace did not become Terminating")

		out := framework.Kubectl(t, kc, "get", "ns", "--field-selector", "status.phase=Active", "-o", "name")
		require.Equal(t, "namespace/default\nnamespace/team-x\nnamespace/team-y\n", out)
		out = framework.Kubectl(t, kc, "get", "ns", "--field-selector", "status.phase=Terminating", "-o", "name")
		require.Equal(t, "namespace/going\n", out)
		out = framework.Kubectl(t, kc, "get", "ns", "--field-selector", "status.phase!=Active,metadata.name=going", "-o", "name")
		require.Equal(t, "namespace/going\n", out)
		list, err := a.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Terminating"})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)

		out = framework.Kubectl(t, kc, "get", "ns")
		header, rows := kubectlTable(t, out)
		require.Equal(t, []string{"NAME", "STATUS", "AGE"}, header, out)
		status := map[string]string{}
		for _, r := range rows {
			status[r["NAME"]] = r["STATUS"]
		}
		require.Equal(t, map[string]string{"default": "Active", "going": "Terminating", "team-x": "Active", "team-y": "Active"}, status, out)

		errOut := framework.KubectlFails(t, kc, "", "get", "ns", "--field-selector", "spec.finalizers=kubernetes")
		require.Contains(t, errOut, "field label not supported: spec.finalizers")
	})
}

// TestResourcesConfigMaps checks the DATA column and immutable config maps.
func TestResourcesConfigMaps(t *testing.T) {
	t.Parallel()
	a := server.NewAccount(t, "root")
	ctx := t.Context()
	kc := a.Kubeconfig
	cms := a.Kube.CoreV1().ConfigMaps("default")

	bin := filepath.Join(t.TempDir(), "blob")
	require.NoError(t, os.WriteFile(bin, []byte{0xff, 0xfe, 0x00, 0x01}, 0o600))
	framework.Kubectl(t, kc, "create", "configmap", "three", "-n", "default", "--from-literal=a=1", "--from-literal=b=2", "--from-file=blob="+bin)
	framework.Kubectl(t, kc, "create", "configmap", "empty", "-n", "default")
	cm, err := cms.Get(ctx, "three", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "1", "b": "2"}, cm.Data)
	require.Equal(t, map[string][]byte{"blob": {0xff, 0xfe, 0x00, 0x01}}, cm.BinaryData)

	out := framework.Kubectl(t, kc, "get", "configmaps", "-n", "default")
	header, rows := kubectlTable(t, out)
	require.Equal(t, []string{"NAME", "DATA", "AGE"}, header, out)
	data := map[string]string{}
	for _, r := range rows {
		data[r["NAME"]] = r["DATA"]
	}
	require.Equal(t, map[string]string{"empty": "0", "three": "3", framework.RootCAConfigMap: "1"}, data, out)

	// An immutable config map keeps its data; its metadata can still change.
	out = framework.KubectlStdin(t, kc, `apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: default}
immutable: true
data: {key: value}
binaryData: {raw: AAE=}
`, "apply", "-f", "-")
	require.Contains(t, out, "configmap/frozen created")

	errOut := framework.KubectlFails(t, kc, "", "patch", "configmap", "frozen", "-n", "default", "--type=merge", "-p", `{"data":{"key":"changed"}}`)
	require.Contains(t, errOut, `The ConfigMap "frozen" is invalid`)
	require.Contains(t, errOut, "data: Forbidden: field is immutable when `immutable` is set")
	errOut = framework.KubectlFails(t, kc, "", "patch", "configmap", "frozen", "-n", "default", "--type=merge", "-p", `{"binaryData":{"raw":null}}`)
	require.Contains(t, errOut, "binaryData: Forbidden: field is immutable when `immutable` is set")
	errOut = framework.KubectlFails(t, kc, "", "patch", "configmap", "frozen", "-n", "default", "--type=merge", "-p", `{"immutable":false}`)
	require.Contains(t, errOut, "immutable: Forbidden: field is immutable when `immutable` is set")
	errOut = framework.KubectlFails(t, kc, `apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: default}
immutable: true
data: {key: other}
binaryData: {raw: AAE=}
`, "apply", "-f", "-")
	require.Contains(t, errOut, "field is immutable when `immutable` is set")

	cm, err = cms.Get(ctx, "frozen", metav1.GetOptions{})
	require.NoError(t, err)
	cm.Data["added"] = "x"
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	cm, err = cms.Get(ctx, "frozen", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"key": "value"}, cm.Data)

	framework.Kubectl(t, kc, "label", "configmap", "frozen", "-n", "default", "team=a")
	framework.Kubectl(t, kc, "annotate", "configmap", "frozen", "-n", "default", "note=kept")
	cm, err = cms.Get(ctx, "frozen", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "a", cm.Labels["team"])
	require.Equal(t, map[string]string{"key": "value"}, cm.Data)

	// A mutable config map can become immutable, and an immutable one can be deleted.
	framework.Kubectl(t, kc, "patch", "configmap", "three", "-n", "default", "--type=merge", "-p", `{"immutable":true,"data":{"c":"3"}}`)
	errOut = framework.KubectlFails(t, kc, "", "patch", "configmap", "three", "-n", "default", "--type=merge", "-p", `{"data":{"d":"4"}}`)
	require.Contains(t, errOut, "field is immutable when `immutable` is set")
	out = framework.Kubectl(t, kc, "get", "configmap", "three", "-n", "default")
	_, rows = kubectlTable(t, out)
	require.Equal(t, "4", rows[0]["DATA"], out)
	framework.Kubectl(t, kc, "delete", "configmap", "frozen", "-n", "default")
	_, err = cms.Get(ctx, "frozen", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "immutable config map not deleted: %v", err)
}
