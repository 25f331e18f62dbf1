package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// The names an external test controller acts as: no controller in the server knows them.
const (
	gateInitializer   = "example.com/gate"
	archiveTerminator = "example.com/archive"
)

// accountYAML is an Account manifest; typ and owner are left out when empty.
func accountYAML(name, typ, owner string) string {
	var b strings.Builder
	b.WriteString("apiVersion: core.accountmesh.io/v1alpha1\nkind: Account\nmetadata:\n  name: " + name + "\n")
	if typ != "" || owner != "" {
		b.WriteString("spec:\n")
	}
	if typ != "" {
		b.WriteString("  type: " + typ + "\n")
	}
	if owner != "" {
		b.WriteString("  owner: " + owner + "\n")
	}
	return b.String()
}

// teamTypeYAML defines the custom type team: an account that defaults its children to teams.
const teamTypeYAML = `apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata:
  name: team
spec:
  extends: account
  defaultChildType: team
  labels:
    example.com/kind: team
`

// gatedTypeYAML defines the type gated, whose accounts wait for the external initializer
// example.com/gate, and gated-team, which extends it and adds nothing of its own.
const gatedTypeYAML = `apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata:
  name: gated
spec:
  extends: account
  initializers: ["example.com/gate"]
---
apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata:
  name: gated-team
spec:
  extends: gated
`

// archivedTypeYAML defines the type archived, whose deletion waits for the external
// terminator example.com/archive.
const archivedTypeYAML = `apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata:
  name: archived
spec:
  extends: account
  terminators: ["example.com/archive"]
`

// kubectlApply runs kubectl apply -f - with manifest against the account of kubeconfig.
func kubectlApply(t *testing.T, kubeconfig, manifest string) {
	t.Helper()
	framework.KubectlStdin(t, kubeconfig, manifest, "apply", "-f", "-")
}

func dynamicClient(t *testing.T, cfg *rest.Config) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	return d
}

func kubeClient(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	k, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return k
}

// getAccount reads Account name through d, a client of the parent account.
func getAccount(ctx context.Context, d dynamic.Interface, name string) (*corev1alpha1.Account, error) {
	u, err := d.Resource(framework.AccountsGVR).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	acc := &corev1alpha1.Account{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, acc); err != nil {
		return nil, err
	}
	return acc, nil
}

// waitForAccount polls Account name through d, a client of the parent account, until cond
// holds, and returns it.
func waitForAccount(t *testing.T, d dynamic.Interface, name, what string, cond func(*corev1alpha1.Account) bool) *corev1alpha1.Account {
	t.Helper()
	var last *corev1alpha1.Account
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last, lastErr = getAccount(ctx, d, name)
		return lastErr == nil && cond(last), nil
	})
	require.NoError(t, err, "account %s: %s; last seen: %+v, error: %v", name, what, last, lastErr)
	return last
}

// waitForAccountGone polls until Account name is gone from the parent account of d.
func waitForAccountGone(t *testing.T, d dynamic.Interface, name string) {
	t.Helper()
	var last *corev1alpha1.Account
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		acc, err := getAccount(ctx, d, name)
		if err == nil {
			last = acc
		}
		lastErr = err
		return apierrors.IsNotFound(err), nil
	})
	require.NoError(t, err, "account %s was not deleted; last seen: %+v, last error: %v", name, last, lastErr)
}

// condition returns the condition typ of acc, failing the test if there is none.
func condition(t *testing.T, acc *corev1alpha1.Account, typ string) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(acc.Status.Conditions, typ)
	require.NotNil(t, c, "account %s has no %s condition: %+v", acc.Name, typ, acc.Status.Conditions)
	return *c
}

// hasCondition reports whether acc has condition typ with status and reason.
func hasCondition(acc *corev1alpha1.Account, typ string, status metav1.ConditionStatus, reason string) bool {
	c := meta.FindStatusCondition(acc.Status.Conditions, typ)
	return c != nil && c.Status == status && c.Reason == reason
}

// statusListPatch is the JSON patch an external initializer or terminator sends to remove its
// name from status.<list>: it tests the list it read, so that no concurrent change is lost.
func statusListPatch(t *testing.T, list string, read []string, name string) []byte {
	t.Helper()
	remaining := slices.DeleteFunc(slices.Clone(read), func(n string) bool { return n == name })
	patch, err := json.Marshal([]map[string]interface{}{
		{"op": "test", "path": "/status/" + list, "value": read},
		{"op": "replace", "path": "/status/" + list, "value": remaining},
	})
	require.NoError(t, err)
	return patch
}

// finish removes name from status.<list> ("initializers" or "terminators") of acc through d, a
// client of the parent account, as pkg/reconciler/initializer RemoveName does.
func finish(t *testing.T, d dynamic.Interface, acc *corev1alpha1.Account, list, name string) {
	t.Helper()
	read := acc.Status.Initializers
	if list == "terminators" {
		read = acc.Status.Terminators
	}
	require.Contains(t, read, name, "account %s: %s has no %s", acc.Name, list, name)
	_, err := d.Resource(framework.AccountsGVR).Patch(t.Context(), acc.Name, types.JSONPatchType,
		statusListPatch(t, list, read, name), metav1.PatchOptions{}, "status")
	require.NoError(t, err, "failed to remove %s from the %s of account %s", name, list, acc.Name)
}

// accountInfo reads the AccountInfo of the account at cfg.
func accountInfo(t *testing.T, cfg *rest.Config) *corev1alpha1.AccountInfo {
	t.Helper()
	u, err := dynamicClient(t, cfg).Resource(accountInfosGVR).Get(t.Context(), corev1alpha1.AccountInfoName, metav1.GetOptions{})
	require.NoError(t, err)
	info := &corev1alpha1.AccountInfo{}
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, info))
	return info
}

// createAccountObject creates Account name of type typ through d without waiting for it.
func createAccountObject(t testing.TB, d dynamic.Interface, name, typ, owner string) error {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
	obj.SetKind("Account")
	obj.SetName(name)
	if typ != "" {
		require.NoError(t, unstructured.SetNestedField(obj.Object, typ, "spec", "type"))
	}
	if owner != "" {
		require.NoError(t, unstructured.SetNestedField(obj.Object, owner, "spec", "owner"))
	}
	_, err := d.Resource(framework.AccountsGVR).Create(t.Context(), obj, metav1.CreateOptions{})
	return err
}

// requireAccountAbsent requires that Account name does not exist in the parent account of d.
func requireAccountAbsent(t *testing.T, d dynamic.Interface, name string) {
	t.Helper()
	_, err := getAccount(t.Context(), d, name)
	require.True(t, apierrors.IsNotFound(err), "account %s should not exist: %v", name, err)
}

// TestAccountModelCustomType defines the type team in an org with kubectl, creates teams and
// nested teams with it, and checks that it extends account: labels and default child type from
// the type, constraints inherited from account, and that the type is unknown outside the org.
func TestAccountModelCustomType(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	other := server.NewAccount(t, "root")
	orgClient := dynamicClient(t, org.Config)

	kubectlApply(t, org.Kubeconfig, teamTypeYAML)
	require.Equal(t, "account/team", framework.Kubectl(t, org.Kubeconfig, "get", "accounttype", "team", "-o", "jsonpath={.spec.extends}/{.spec.defaultChildType}"))

	kubectlApply(t, org.Kubeconfig, accountYAML("team-a", "team", ""))
	teamA := server.WaitForAccountReady(ctx, t, org.Path, "team-a")
	acc, err := getAccount(ctx, orgClient, "team-a")
	require.NoError(t, err)
	require.Equal(t, "team", acc.Spec.Type)
	require.Equal(t, "team", acc.Labels["example.com/kind"], "the type's labels are added to its accounts")
	require.Empty(t, acc.Status.Initializers, "team-a is Ready, so no initializer is left")
	_, rows := kubectlTable(t, framework.Kubectl(t, org.Kubeconfig, "get", "accounts", "team-a"))
	require.Equal(t, "team", rows[0]["TYPE"])
	require.Equal(t, "Ready", rows[0]["PHASE"])

	t.Run("nested teams", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		// team's default child type is team.
		kubectlApply(t, teamA.Kubeconfig, accountYAML("team-b", "", ""))
		teamB := server.WaitForAccountReady(ctx, t, teamA.Path, "team-b")
		got, err := getAccount(ctx, teamA.Dynamic, "team-b")
		require.NoError(t, err)
		require.Equal(t, "team", got.Spec.Type, "the default child type of team")
		require.Equal(t, "team", got.Labels["example.com/kind"])

		kubectlApply(t, teamB.Kubeconfig, accountYAML("team-c", "team", ""))
		teamC := server.WaitForAccountReady(ctx, t, teamB.Path, "team-c")
		require.Equal(t, org.Path+":team-a:team-b:team-c", teamC.Path)
		require.Equal(t, "team", framework.Kubectl(t, teamC.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.type}"))

		// A team counts as an account: plain accounts may be created in it.
		kubectlApply(t, teamC.Kubeconfig, accountYAML("plain", "account", ""))
		server.WaitForAccountReady(ctx, t, teamC.Path, "plain")
	})

	t.Run("constraints are inherited from account", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		kubectlApply(t, org.Kubeconfig, accountYAML("prov", "provider", ""))
		prov := server.WaitForAccountReady(ctx, t, org.Path, "prov")
		errOut := framework.KubectlFails(t, prov.Kubeconfig, accountYAML("team-x", "team", ""), "apply", "-f", "-")
		want := `an account of type "team" is not allowed in an account of type "provider": type "team" allows parents of type "org", "account"`
		require.Contains(t, errOut, want)
		err := createAccountObject(t, prov.Dynamic, "team-x", "team", "")
		requireStatus(t, err, 422, metav1.StatusReasonInvalid, "spec.type", want)
		requireAccountAbsent(t, prov.Dynamic, "team-x")
	})

	t.Run("unknown outside the org", func(t *testing.T) {
		t.Parallel()
		errOut := framework.KubectlFails(t, other.Kubeconfig, accountYAML("team-a", "team", ""), "apply", "-f", "-")
		require.Contains(t, errOut, `spec.type: Not found: "team"`)
		err := createAccountObject(t, other.Dynamic, "team-a", "team", "")
		s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, `spec.type: Not found: "team"`)
		require.Equal(t, []string{"spec.type"}, causeFields(s))
		require.NotContains(t, s.Message, org.Path, "the error must not reveal where the type is defined")
		requireAccountAbsent(t, other.Dynamic, "team-a")
		errOut = framework.KubectlFails(t, other.Kubeconfig, "", "get", "accounttype", "team")
		require.Contains(t, errOut, "NotFound")

		// Nor is it known in root, above the org.
		name := framework.RandomName("e2e-team-")
		rootClient := dynamicClient(t, server.Config)
		err = createAccountObject(t, rootClient, name, "team", "")
		requireStatus(t, err, 422, metav1.StatusReasonInvalid, `spec.type: Not found: "team"`)
		requireAccountAbsent(t, rootClient, name)
	})
}

// TestAccountModelNesting nests 32 accounts l1..l32 under an org, resolves the deepest by path
// and by cluster ID, and then nests accounts with long names until the path would exceed 2048
// characters, which is refused with a clear message.
func TestAccountModelNesting(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")

	path := org.Path
	var parent, deepest *framework.Account
	for i := 1; i <= 32; i++ {
		parent = deepest
		deepest = server.CreateAccount(t, path, fmt.Sprintf("l%d", i))
		path = deepest.Path
	}
	want := org.Path
	for i := 1; i <= 32; i++ {
		want += fmt.Sprintf(":l%d", i)
	}
	require.Equal(t, want, deepest.Path)

	acc, err := getAccount(ctx, parent.Dynamic, "l32")
	require.NoError(t, err)
	require.Equal(t, corev1alpha1.TypeAccount, acc.Spec.Type, "the default child type below an org")
	require.Equal(t, deepest.Path, acc.Status.Path)
	require.Equal(t, server.URL(deepest.Path), acc.Status.URL)

	for _, pathOrID := range []string{deepest.Path, deepest.ClusterID} {
		kc := server.WriteKubeconfig(t, pathOrID)
		out := framework.Kubectl(t, kc, "get", "accountinfo", "account",
			"-o", "jsonpath={.spec.path}|{.spec.clusterID}|{.spec.type}|{.spec.parent.path}|{.spec.parent.clusterID}|{.spec.organization.path}")
		require.Equal(t, strings.Join([]string{deepest.Path, deepest.ClusterID, "account", parent.Path, parent.ClusterID, org.Path}, "|"), out, "by %s", pathOrID)
		framework.Kubectl(t, kc, "create", "configmap", "by-"+map[bool]string{true: "path", false: "id"}[pathOrID == deepest.Path], "-n", "default")
	}
	cms, err := deepest.Kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name!=" + framework.RootCAConfigMap})
	require.NoError(t, err)
	require.Len(t, cms.Items, 2, "the path and the cluster ID address the same account")

	t.Run("path too long", func(t *testing.T) {
		t.Parallel()
		const maxPath = 2048
		longName := func(i int) string { return fmt.Sprintf("n%02d-", i) + strings.Repeat("x", 59) }
		last := deepest
		i := 0
		for ; len(last.Path)+1+len(longName(i)) <= maxPath; i++ {
			last = server.CreateAccount(t, last.Path, longName(i))
		}
		require.LessOrEqual(t, len(last.Path), maxPath)
		// The longest allowed path resolves.
		require.Equal(t, last.ClusterID, framework.Kubectl(t, last.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.clusterID}"))

		name := longName(i)
		tooLong := len(last.Path) + 1 + len(name)
		msg := fmt.Sprintf("the account path would be %d characters long; at most %d are allowed", tooLong, maxPath)
		errOut := framework.KubectlFails(t, last.Kubeconfig, accountYAML(name, "", ""), "apply", "-f", "-")
		require.Contains(t, errOut, `metadata.name: Invalid value: "`+name+`"`)
		require.Contains(t, errOut, msg)
		err := createAccountObject(t, last.Dynamic, name, "", "")
		s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, msg)
		require.Equal(t, []string{"metadata.name"}, causeFields(s))
		requireAccountAbsent(t, last.Dynamic, name)
	})
}

// TestAccountModelNames checks that account names are DNS-1123 labels and that root, system
// and system-* are reserved, with clear errors.
func TestAccountModelNames(t *testing.T) {
	t.Parallel()
	org := server.NewAccount(t, "root")
	for _, name := range []string{"root", "system", "system-x", "system-accounts"} {
		errOut := framework.KubectlFails(t, org.Kubeconfig, accountYAML(name, "", ""), "apply", "-f", "-")
		require.Contains(t, errOut, `metadata.name: Invalid value: "`+name+`": the name is reserved`, name)
		err := createAccountObject(t, org.Dynamic, name, "", "")
		s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, "the name is reserved")
		require.Equal(t, []string{"metadata.name"}, causeFields(s))
		requireAccountAbsent(t, org.Dynamic, name)
	}
	for _, name := range []string{"Upper", "a.b", "under_score", "-x", strings.Repeat("a", 64)} {
		err := createAccountObject(t, org.Dynamic, name, "", "")
		s := requireStatus(t, err, 422, metav1.StatusReasonInvalid)
		require.Contains(t, causeFields(s), "metadata.name", name)
	}
	// Only the exact names and the system- prefix are reserved.
	for _, name := range []string{"systems", "my-system", "rooted"} {
		kubectlApply(t, org.Kubeconfig, accountYAML(name, "", ""))
		server.WaitForAccountReady(t.Context(), t, org.Path, name)
	}
}

// TestAccountModelForbiddenCombinations checks that parent/child type combinations the types
// do not allow are refused with 422 and a message naming the allowed types, on both sides.
func TestAccountModelForbiddenCombinations(t *testing.T) {
	t.Parallel()
	org := server.NewAccount(t, "root")
	rootClient := dynamicClient(t, server.Config)

	for _, tc := range []struct {
		name       string
		kubeconfig string
		client     dynamic.Interface
		typ        string
		want       string
	}{
		{
			name: "account in root", kubeconfig: server.Kubeconfig, client: rootClient, typ: "account",
			want: `an account of type "account" is not allowed in an account of type "root", which allows children of type "org", "provider"`,
		},
		{
			name: "org in org", kubeconfig: org.Kubeconfig, client: org.Dynamic, typ: "org",
			want: `an account of type "org" is not allowed in an account of type "org": type "org" allows parents of type "root"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := framework.RandomName("e2e-bad-")
			errOut := framework.KubectlFails(t, tc.kubeconfig, accountYAML(name, tc.typ, ""), "apply", "-f", "-")
			require.Contains(t, errOut, `The Account "`+name+`" is invalid: spec.type: Forbidden: `+tc.want)
			err := createAccountObject(t, tc.client, name, tc.typ, "")
			s := requireStatus(t, err, 422, metav1.StatusReasonInvalid, tc.want)
			require.Equal(t, []string{"spec.type"}, causeFields(s))
			requireAccountAbsent(t, tc.client, name)
		})
	}
}

// TestAccountModelExternalInitializer acts as an external initializer: an account of a type
// with the initializer example.com/gate stays Initializing until the test, as the controller,
// has done its work in the account and removed the name from status.initializers.
func TestAccountModelExternalInitializer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	kubectlApply(t, org.Kubeconfig, gatedTypeYAML)

	kubectlApply(t, org.Kubeconfig, accountYAML("gated", "gated", ""))
	// The built-in initializers finish; the account then waits for the external one only.
	acc := waitForAccount(t, org.Dynamic, "gated", "waits for "+gateInitializer+" only", func(acc *corev1alpha1.Account) bool {
		c := meta.FindStatusCondition(acc.Status.Conditions, corev1alpha1.AccountConditionInitialized)
		return slices.Equal(acc.Status.Initializers, []string{gateInitializer}) && c != nil && c.Message == "waiting for initializers: "+gateInitializer
	})
	require.Equal(t, corev1alpha1.AccountPhaseInitializing, acc.Status.Phase)
	initialized := condition(t, acc, corev1alpha1.AccountConditionInitialized)
	require.Equal(t, metav1.ConditionFalse, initialized.Status)
	require.Equal(t, corev1alpha1.AccountReasonInitializersPending, initialized.Reason)
	require.Contains(t, initialized.Message, gateInitializer)
	ready := condition(t, acc, corev1alpha1.AccountConditionReady)
	require.Equal(t, metav1.ConditionFalse, ready.Status)
	require.Equal(t, "Initializing", framework.Kubectl(t, org.Kubeconfig, "get", "account", "gated", "-o", "jsonpath={.status.phase}"))
	require.NotEmpty(t, acc.Status.ClusterID)

	// A type extending gated inherits its initializer after the built-in ones.
	// kubectl prints the Account as created, before any initializer has run.
	out := framework.KubectlStdin(t, org.Kubeconfig, accountYAML("gated-team", "gated-team", ""), "create", "-f", "-", "-o", "json")
	sub := &corev1alpha1.Account{}
	require.NoError(t, json.Unmarshal([]byte(out), sub), out)
	require.Equal(t, append(slices.Clone(corev1alpha1.BuiltinInitializers), gateInitializer), sub.Status.Initializers)

	// The controller works in the new account, addressed by its cluster ID.
	inAccount := kubeClient(t, server.ConfigFor(acc.Status.ClusterID))
	_, err := inAccount.CoreV1().ConfigMaps("default").Create(ctx, configMap("gate", nil, map[string]string{"opened-by": gateInitializer}), metav1.CreateOptions{})
	require.NoError(t, err)

	// A patch that tests a stale list is refused and changes nothing.
	stale := statusListPatch(t, "initializers", []string{corev1alpha1.InitializerNamespace, gateInitializer}, gateInitializer)
	_, err = org.Dynamic.Resource(framework.AccountsGVR).Patch(ctx, "gated", types.JSONPatchType, stale, metav1.PatchOptions{}, "status")
	requireStatus(t, err, 422, metav1.StatusReasonInvalid)
	got, err := getAccount(ctx, org.Dynamic, "gated")
	require.NoError(t, err)
	require.Equal(t, []string{gateInitializer}, got.Status.Initializers)
	require.Equal(t, corev1alpha1.AccountPhaseInitializing, got.Status.Phase)

	finish(t, org.Dynamic, acc, "initializers", gateInitializer)
	gated := server.WaitForAccountReady(ctx, t, org.Path, "gated")
	require.Equal(t, acc.Status.ClusterID, gated.ClusterID)
	acc, err = getAccount(ctx, org.Dynamic, "gated")
	require.NoError(t, err)
	require.Empty(t, acc.Status.Initializers)
	require.True(t, hasCondition(acc, corev1alpha1.AccountConditionInitialized, metav1.ConditionTrue, corev1alpha1.AccountReasonInitialized), "%+v", acc.Status.Conditions)
	require.True(t, hasCondition(acc, corev1alpha1.AccountConditionReady, metav1.ConditionTrue, corev1alpha1.AccountReasonReady), "%+v", acc.Status.Conditions)
	require.Equal(t, gateInitializer, framework.Kubectl(t, gated.Kubeconfig, "get", "configmap", "gate", "-n", "default", "-o", "jsonpath={.data.opened-by}"))

	// The subtype's account is released the same way.
	sub = waitForAccount(t, org.Dynamic, "gated-team", "waits for "+gateInitializer+" only", func(acc *corev1alpha1.Account) bool {
		return slices.Equal(acc.Status.Initializers, []string{gateInitializer})
	})
	require.Equal(t, corev1alpha1.AccountPhaseInitializing, sub.Status.Phase)
	finish(t, org.Dynamic, sub, "initializers", gateInitializer)
	server.WaitForAccountReady(ctx, t, org.Path, "gated-team")
}

// TestAccountModelOwner checks the owner: it defaults to the creating user, who is bound to the
// admin ClusterRole inside the account by an inherited binding; an explicit owner is kept; owner
// and type cannot be changed.
func TestAccountModelOwner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")

	rootAcc, err := getAccount(ctx, dynamicClient(t, server.Config), org.Name)
	require.NoError(t, err)
	require.Equal(t, "accountmesh-admin", rootAcc.Spec.Owner, "the admin created the org")

	// alice administers the org (not inherited), which lets her create child accounts.
	framework.Kubectl(t, org.Kubeconfig, "create", "clusterrolebinding", "alice-admin", "--clusterrole=admin", "--user=alice")
	alice := dynamicClient(t, userConfig(t, org.Path, "alice", "developers"))
	framework.Eventually(t, 10*time.Second, func(context.Context) (bool, error) {
		return createAccountObject(t, alice, "alices", "", "") == nil, nil
	}, "alice could not create an account")
	alices := server.WaitForAccountReady(ctx, t, org.Path, "alices")
	acc, err := getAccount(ctx, org.Dynamic, "alices")
	require.NoError(t, err)
	require.Equal(t, "alice", acc.Spec.Owner)
	require.Equal(t, corev1alpha1.TypeAccount, acc.Spec.Type)

	requireOwnerBinding := func(t *testing.T, acc *framework.Account, owner string) {
		t.Helper()
		crb, err := acc.Kube.RbacV1().ClusterRoleBindings().Get(ctx, corev1alpha1.OwnerBindingName, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "true", crb.Labels[corev1alpha1.InheritLabel])
		require.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}, crb.RoleRef)
		require.Equal(t, []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: owner}}, crb.Subjects)
		require.Equal(t, owner, framework.Kubectl(t, acc.Kubeconfig, "get", "accountinfo", "account", "-o", "jsonpath={.spec.owner}"))
	}
	requireOwnerBinding(t, alices, "alice")

	kubectlApply(t, org.Kubeconfig, accountYAML("bobs", "", "bob"))
	bobs := server.WaitForAccountReady(ctx, t, org.Path, "bobs")
	require.Equal(t, "bob", framework.Kubectl(t, org.Kubeconfig, "get", "account", "bobs", "-o", "jsonpath={.spec.owner}"))
	requireOwnerBinding(t, bobs, "bob")

	t.Run("owner and type are immutable", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		for _, tc := range []struct{ patch, want string }{
			{`{"spec":{"owner":"mallory"}}`, `spec.owner: Invalid value: "mallory": field is immutable`},
			{`{"spec":{"type":"provider"}}`, `spec.type: Invalid value: "provider": field is immutable`},
		} {
			errOut := framework.KubectlFails(t, org.Kubeconfig, "", "patch", "account", "alices", "--type=merge", "-p", tc.patch)
			require.Contains(t, errOut, tc.want)
		}
		errOut := framework.KubectlFails(t, org.Kubeconfig, accountYAML("bobs", "", "mallory"), "apply", "-f", "-")
		require.Contains(t, errOut, `spec.owner: Invalid value: "mallory": field is immutable`)

		// The same through client-go, as the owner.
		u, err := alice.Resource(framework.AccountsGVR).Get(ctx, "alices", metav1.GetOptions{})
		require.NoError(t, err)
		require.NoError(t, unstructured.SetNestedField(u.Object, "org", "spec", "type"))
		_, err = alice.Resource(framework.AccountsGVR).Update(ctx, u, metav1.UpdateOptions{})
		requireStatus(t, err, 422, metav1.StatusReasonInvalid, "spec.type", "field is immutable")

		// Other fields can change.
		framework.Kubectl(t, org.Kubeconfig, "patch", "account", "alices", "--type=merge", "-p", `{"spec":{"description":"Alice's account"}}`)
		acc, err := getAccount(ctx, org.Dynamic, "alices")
		require.NoError(t, err)
		require.Equal(t, corev1alpha1.AccountSpec{Type: "account", Owner: "alice", Description: "Alice's account"}, acc.Spec)
		acc, err = getAccount(ctx, org.Dynamic, "bobs")
		require.NoError(t, err)
		require.Equal(t, "bob", acc.Spec.Owner)
	})
}

// TestAccountModelDefaultResources checks that the default resources of a type, and of the
// types it extends, are created in every new account of the type.
func TestAccountModelDefaultResources(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	kubectlApply(t, org.Kubeconfig, `apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata:
  name: welcomed
spec:
  extends: account
  defaultResources:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: welcome
    data:
      greeting: hello
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: welcome-reader
    rules:
    - apiGroups: [""]
      resources: ["configmaps"]
      verbs: ["get"]
---
apiVersion: core.accountmesh.io/v1alpha1
kind: AccountType
metadata:
  name: welcomed-team
spec:
  extends: welcomed
  defaultResources:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: team-info
    data:
      kind: team
`)

	kubectlApply(t, org.Kubeconfig, accountYAML("w", "welcomed", ""))
	w := server.WaitForAccountReady(ctx, t, org.Path, "w")
	require.Equal(t, "hello", framework.Kubectl(t, w.Kubeconfig, "get", "configmap", "welcome", "-n", "default", "-o", "jsonpath={.data.greeting}"))
	cr, err := w.Kube.RbacV1().ClusterRoles().Get(ctx, "welcome-reader", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}, cr.Rules)
	_, err = w.Kube.CoreV1().ConfigMaps("default").Get(ctx, "team-info", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "team-info belongs to the subtype: %v", err)

	kubectlApply(t, org.Kubeconfig, accountYAML("wt", "welcomed-team", ""))
	wt := server.WaitForAccountReady(ctx, t, org.Path, "wt")
	require.Equal(t, "hello", framework.Kubectl(t, wt.Kubeconfig, "get", "configmap", "welcome", "-n", "default", "-o", "jsonpath={.data.greeting}"))
	require.Equal(t, "team", framework.Kubectl(t, wt.Kubeconfig, "get", "configmap", "team-info", "-n", "default", "-o", "jsonpath={.data.kind}"))
	framework.Kubectl(t, wt.Kubeconfig, "get", "clusterrole", "welcome-reader")

	// Accounts of other types start without them.
	plain := server.NewAccount(t, org.Path)
	_, err = plain.Kube.CoreV1().ConfigMaps("default").Get(ctx, "welcome", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "a plain account has no welcome ConfigMap: %v", err)
}

// TestAccountModelTerminators deletes an account of a type with the terminator
// example.com/archive: it stays Terminating with its content until the test, as the
// terminator, removes the name; then it disappears and nothing is left in etcd.
func TestAccountModelTerminators(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	kubectlApply(t, org.Kubeconfig, archivedTypeYAML)
	kubectlApply(t, org.Kubeconfig, accountYAML("arch", "archived", ""))
	arch := server.WaitForAccountReady(ctx, t, org.Path, "arch")
	acc, err := getAccount(ctx, org.Dynamic, "arch")
	require.NoError(t, err)
	require.Equal(t, []string{archiveTerminator}, acc.Status.Terminators, "terminators do not hold initialization")
	fillAccount(t, arch)
	require.NotEmpty(t, keysOf(ctx, t, arch.ClusterID))

	framework.Kubectl(t, org.Kubeconfig, "delete", "account", "arch", "--wait=false")
	acc = waitForAccount(t, org.Dynamic, "arch", "waits for "+archiveTerminator, func(acc *corev1alpha1.Account) bool {
		return acc.Status.Phase == corev1alpha1.AccountPhaseTerminating &&
			hasCondition(acc, corev1alpha1.AccountConditionContentDeleted, metav1.ConditionFalse, corev1alpha1.AccountReasonTerminatorsPending)
	})
	require.Contains(t, condition(t, acc, corev1alpha1.AccountConditionContentDeleted).Message, archiveTerminator)
	require.Equal(t, []string{archiveTerminator}, acc.Status.Terminators)
	require.Equal(t, "Terminating", framework.Kubectl(t, org.Kubeconfig, "get", "account", "arch", "-o", "jsonpath={.status.phase}"))

	// The terminator works while the content is still there.
	inAccount := kubeClient(t, server.ConfigFor(acc.Status.ClusterID))
	for _, ns := range []string{"default", "team"} {
		cm, err := inAccount.CoreV1().ConfigMaps(ns).Get(ctx, "cfg", metav1.GetOptions{})
		require.NoError(t, err, "content must stay until the terminators finish")
		require.Nil(t, cm.DeletionTimestamp)
	}
	_, err = inAccount.RbacV1().ClusterRoleBindings().Get(ctx, corev1alpha1.OwnerBindingName, metav1.GetOptions{})
	require.NoError(t, err)
	// It may change what is there, but not add to an account being deleted.
	_, err = inAccount.CoreV1().ConfigMaps("default").Patch(ctx, "cfg", types.MergePatchType, []byte(`{"data":{"archived-by":"`+archiveTerminator+`"}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	_, err = inAccount.CoreV1().ConfigMaps("default").Create(ctx, configMap("new", nil, nil), metav1.CreateOptions{})
	requireStatus(t, err, 403, metav1.StatusReasonForbidden, "because it is being deleted")

	finish(t, org.Dynamic, acc, "terminators", archiveTerminator)
	waitForAccountGone(t, org.Dynamic, "arch")
	require.Empty(t, keysOf(ctx, t, arch.ClusterID), "keys left behind in etcd")
	for _, pathOrID := range []string{arch.Path, arch.ClusterID} {
		requireUnresolvable(t, server.ConfigFor(pathOrID), pathOrID)
	}
}

// TestAccountModelSubtreeDeletion deletes an org holding a custom type, a team and a nested
// team, all with content, and checks that nothing of the subtree is left in etcd.
func TestAccountModelSubtreeDeletion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	kubectlApply(t, org.Kubeconfig, teamTypeYAML)
	kubectlApply(t, org.Kubeconfig, accountYAML("team-a", "team", ""))
	teamA := server.WaitForAccountReady(ctx, t, org.Path, "team-a")
	kubectlApply(t, teamA.Kubeconfig, accountYAML("team-b", "team", ""))
	teamB := server.WaitForAccountReady(ctx, t, teamA.Path, "team-b")
	for _, acc := range []*framework.Account{org, teamA, teamB} {
		fillAccount(t, acc)
	}
	ids := []string{org.ClusterID, teamA.ClusterID, teamB.ClusterID}
	for _, id := range ids {
		require.NotEmpty(t, keysOf(ctx, t, id))
	}

	framework.Kubectl(t, server.Kubeconfig, "delete", "account", org.Name, "--wait=false")
	waitForAccountGone(t, dynamicClient(t, server.Config), org.Name)
	require.Empty(t, keysOf(ctx, t, ids...), "keys left behind in etcd")
	for _, acc := range []*framework.Account{org, teamA, teamB} {
		for _, pathOrID := range []string{acc.Path, acc.ClusterID} {
			requireUnresolvable(t, server.ConfigFor(pathOrID), pathOrID)
		}
	}
}

// TestAccountModelAccountInfo checks the account's type, organisation, owner and creation time
// in AccountInfo: an org is its own organisation, accounts below it belong to it, root belongs
// to none.
func TestAccountModelAccountInfo(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	org := server.NewAccount(t, "root")
	kubectlApply(t, org.Kubeconfig, teamTypeYAML)
	kubectlApply(t, org.Kubeconfig, accountYAML("team-a", "team", "carol"))
	team := server.WaitForAccountReady(ctx, t, org.Path, "team-a")
	nested := server.NewAccount(t, team.Path)

	orgRef := &corev1alpha1.AccountReference{Path: org.Path, ClusterID: org.ClusterID}
	for _, tc := range []struct {
		acc   *framework.Account
		typ   string
		owner string
	}{
		{org, "org", "accountmesh-admin"},
		{team, "team", "carol"},
		{nested, "team", "accountmesh-admin"},
	} {
		info := accountInfo(t, tc.acc.Config)
		require.Equal(t, tc.typ, info.Spec.Type, tc.acc.Path)
		require.Equal(t, orgRef, info.Spec.Organization, tc.acc.Path)
		require.Equal(t, tc.owner, info.Spec.Owner, tc.acc.Path)
		require.False(t, info.Spec.CreatedAt.IsZero(), tc.acc.Path)
		require.WithinDuration(t, time.Now(), info.Spec.CreatedAt.Time, 5*time.Minute, tc.acc.Path)

		out := framework.Kubectl(t, tc.acc.Kubeconfig, "get", "accountinfo", "account",
			"-o", "jsonpath={.spec.type}|{.spec.organization.path}|{.spec.organization.clusterID}|{.spec.owner}")
		require.Equal(t, strings.Join([]string{tc.typ, org.Path, org.ClusterID, tc.owner}, "|"), out)
	}
	// createdAt is the creation of the Account object.
	acc, err := getAccount(ctx, org.Dynamic, "team-a")
	require.NoError(t, err)
	require.Equal(t, acc.CreationTimestamp.Unix(), accountInfo(t, team.Config).Spec.CreatedAt.Unix())

	root := accountInfo(t, server.Config)
	require.Equal(t, corev1alpha1.TypeRoot, root.Spec.Type)
	require.Nil(t, root.Spec.Organization, "root belongs to no organisation")

	// AccountInfo is read-only.
	errOut := framework.KubectlFails(t, team.Kubeconfig, "", "patch", "accountinfo", "account", "--type=merge", "-p", `{"spec":{"owner":"mallory"}}`)
	require.Contains(t, errOut, "MethodNotAllowed")
	require.Equal(t, "carol", accountInfo(t, team.Config).Spec.Owner)
}

// TestAccountModelRestart restarts a server, gracefully and by crash, while one account waits
// for an external initializer and another for an external terminator, and checks that both
// still wait after the restarts and complete once the names are removed.
func TestAccountModelRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := framework.StartServer(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log tail:\n%s", s.LogTail())
		}
		s.Stop()
	})

	org := s.CreateAccount(t, "root", "acme")
	kubectlApply(t, org.Kubeconfig, gatedTypeYAML+"---\n"+archivedTypeYAML)
	kubectlApply(t, org.Kubeconfig, accountYAML("pending", "gated", "")+"---\n"+accountYAML("doomed", "archived", ""))
	waitForAccount(t, org.Dynamic, "pending", "waits for "+gateInitializer+" only", func(acc *corev1alpha1.Account) bool {
		return slices.Equal(acc.Status.Initializers, []string{gateInitializer})
	})
	doomed := s.WaitForAccountReady(ctx, t, org.Path, "doomed")
	_, err = doomed.Kube.CoreV1().ConfigMaps("default").Create(ctx, configMap("keep", nil, nil), metav1.CreateOptions{})
	require.NoError(t, err)
	framework.Kubectl(t, org.Kubeconfig, "delete", "account", "doomed", "--wait=false")
	waitForAccount(t, org.Dynamic, "doomed", "waits for "+archiveTerminator, func(acc *corev1alpha1.Account) bool {
		return hasCondition(acc, corev1alpha1.AccountConditionContentDeleted, metav1.ConditionFalse, corev1alpha1.AccountReasonTerminatorsPending)
	})

	// orgClient follows the server to its new port.
	orgClient := func() dynamic.Interface { return dynamicClient(t, s.ConfigFor(org.Path)) }
	for _, restart := range []struct {
		name string
		stop func()
	}{
		{"graceful", s.Stop},
		{"crash", s.Kill},
	} {
		restart.stop()
		require.NoError(t, s.Start(ctx), "restart after %s stop", restart.name)
		d := orgClient()

		// The reconcilers have run again (the URL follows the new port), and both still wait.
		pending := waitForAccount(t, d, "pending", "URL updated after restart", func(acc *corev1alpha1.Account) bool {
			return acc.Status.URL == s.URL(org.Path+":pending")
		})
		require.Equal(t, corev1alpha1.AccountPhaseInitializing, pending.Status.Phase, restart.name)
		require.Equal(t, []string{gateInitializer}, pending.Status.Initializers, restart.name)
		require.True(t, hasCondition(pending, corev1alpha1.AccountConditionInitialized, metav1.ConditionFalse, corev1alpha1.AccountReasonInitializersPending),
			"%s: %+v", restart.name, pending.Status.Conditions)

		dying, err := getAccount(ctx, d, "doomed")
		require.NoError(t, err, restart.name)
		require.Equal(t, corev1alpha1.AccountPhaseTerminating, dying.Status.Phase, restart.name)
		require.Equal(t, []string{archiveTerminator}, dying.Status.Terminators, restart.name)
		require.True(t, hasCondition(dying, corev1alpha1.AccountConditionContentDeleted, metav1.ConditionFalse, corev1alpha1.AccountReasonTerminatorsPending),
			"%s: %+v", restart.name, dying.Status.Conditions)
		_, err = kubeClient(t, s.ConfigFor(doomed.ClusterID)).CoreV1().ConfigMaps("default").Get(ctx, "keep", metav1.GetOptions{})
		require.NoError(t, err, "%s: content must stay until the terminators finish", restart.name)
	}

	d := orgClient()
	pending, err := getAccount(ctx, d, "pending")
	require.NoError(t, err)
	finish(t, d, pending, "initializers", gateInitializer)
	ready := s.WaitForAccountReady(ctx, t, org.Path, "pending")
	framework.Kubectl(t, ready.Kubeconfig, "create", "configmap", "after-restart", "-n", "default")

	dying, err := getAccount(ctx, d, "doomed")
	require.NoError(t, err)
	finish(t, d, dying, "terminators", archiveTerminator)
	waitForAccountGone(t, d, "doomed")
	for _, pathOrID := range []string{doomed.Path, doomed.ClusterID} {
		requireUnresolvable(t, s.ConfigFor(pathOrID), pathOrID)
	}
	errOut := framework.KubectlFails(t, s.WriteKubeconfig(t, doomed.Path), "", "get", "configmaps", "-n", "default")
	require.Contains(t, errOut, "NotFound")
}
