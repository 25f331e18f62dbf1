package managedservice

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apisv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/apis/v1alpha1"
	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// tree is an account tree: root, the provider prov, the org acme with team, and the top-level
// non-org account lone.
type tree map[cluster.ID]cluster.Entry

func (tr tree) Lookup(id cluster.ID) (cluster.Entry, bool) {
	e, ok := tr[id]
	return e, ok
}

func testTree() tree {
	entry := func(id, parent cluster.ID, path, typ string) cluster.Entry {
		return cluster.Entry{ID: id, Parent: parent, Path: path, Attributes: cluster.Attributes{Type: typ, Owner: string(id) + "-owner"}}
	}
	return tree{
		"root": entry("root", "", "root", corev1alpha1.TypeRoot),
		"prov": entry("prov", "root", "root:prov", corev1alpha1.TypeProvider),
		"acme": entry("acme", "root", "root:acme", corev1alpha1.TypeOrg),
		"team": entry("team", "acme", "root:acme:team", corev1alpha1.TypeAccount),
		"lone": entry("lone", "root", "root:lone", corev1alpha1.TypeProvider),
		"sub":  entry("sub", "lone", "root:lone:sub", corev1alpha1.TypeAccount),
	}
}

func TestConsumerOrg(t *testing.T) {
	t.Parallel()
	tr := testTree()
	for id, want := range map[cluster.ID]cluster.ID{"team": "acme", "acme": "acme", "sub": "lone", "lone": "lone", "root": "root"} {
		org, ok := ConsumerOrg(tr, id)
		require.True(t, ok, id)
		require.Equal(t, want, org.ID, id)
	}
	_, ok := ConsumerOrg(tr, "gone")
	require.False(t, ok)
}

var managedExport = &apisv1alpha1.APIExport{
	ObjectMeta: metav1.ObjectMeta{Name: "db.example.com"},
	Spec:       apisv1alpha1.APIExportSpec{Service: &apisv1alpha1.ServiceSpec{Model: apisv1alpha1.ServiceModelShared}},
}

func boundBinding(name string) *apisv1alpha1.APIBinding {
	return &apisv1alpha1.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-name"},
		Status:     apisv1alpha1.APIBindingStatus{Phase: apisv1alpha1.BindingPhaseBound, ExportClusterID: "prov", IdentityHash: "h"},
	}
}

func shadowOf(org cluster.ID, exports string, phase corev1alpha1.AccountPhase) *corev1alpha1.Account {
	return &corev1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: ShadowName(org), Labels: map[string]string{corev1alpha1.ConsumerOrgLabel: string(org)},
			Annotations: map[string]string{corev1alpha1.ServiceExportsAnnotation: exports}},
		Spec:   corev1alpha1.AccountSpec{Type: corev1alpha1.TypeShadow},
		Status: corev1alpha1.AccountStatus{Phase: phase, ClusterID: "shadowid", Path: "root:prov:" + ShadowName(org)},
	}
}

// terminating is acme's shadow account being deleted, with the platform's terminator and
// another one.
func terminating() *corev1alpha1.Account {
	acc := shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseTerminating)
	acc.DeletionTimestamp = &metav1.Time{}
	acc.Status.Terminators = []string{"example.com/other", corev1alpha1.TerminatorServiceInstances}
	return acc
}

func TestReconcileShadowAccount(t *testing.T) {
	t.Parallel()
	deleting := boundBinding("db")
	deleting.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name     string
		bindings []consumerBinding
		existing *corev1alpha1.Account
		want     string // created, updated, deleted or nothing
		// dedicated makes the export Dedicated; instances exist in the shadow account;
		// wantInstances are the ServiceInstances created (+name) and deleted (-name).
		dedicated     bool
		instances     []string
		wantInstances []string
	}{
		{name: "first binding creates", bindings: []consumerBinding{{"team", boundBinding("db")}}, want: "created"},
		{name: "exists as it should", bindings: []consumerBinding{{"team", boundBinding("db")}}, existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseReady), want: "nothing"},
		{name: "exports change", bindings: []consumerBinding{{"team", boundBinding("db")}}, existing: shadowOf("acme", "old", corev1alpha1.AccountPhaseReady), want: "updated"},
		{name: "another org's binding does not count", bindings: []consumerBinding{{"sub", boundBinding("db")}}, existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseReady), want: "deleted"},
		{name: "a binding being deleted does not count", bindings: []consumerBinding{{"team", deleting}}, existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseReady), want: "deleted"},
		{name: "no binding, no account", want: "nothing"},
		{name: "an account of the name that is not a shadow is left alone", bindings: []consumerBinding{{"team", boundBinding("db")}},
			existing: &corev1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: ShadowName("acme")}, Spec: corev1alpha1.AccountSpec{Type: corev1alpha1.TypeAccount}}, want: "nothing"},
		{name: "a Dedicated service gets its ServiceInstance", bindings: []consumerBinding{{"team", boundBinding("db")}}, dedicated: true,
			existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseReady), want: "nothing", wantInstances: []string{"+db.example.com"}},
		{name: "once the shadow account is Ready", bindings: []consumerBinding{{"team", boundBinding("db")}}, dedicated: true,
			existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseInitializing), want: "nothing"},
		{name: "and keeps it", bindings: []consumerBinding{{"team", boundBinding("db")}}, dedicated: true, instances: []string{"db.example.com"},
			existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseReady), want: "nothing"},
		{name: "a Shared service has none", bindings: []consumerBinding{{"team", boundBinding("db")}}, instances: []string{"db.example.com", "gone"},
			existing: shadowOf("acme", "db.example.com", corev1alpha1.AccountPhaseReady), want: "nothing", wantInstances: []string{"-db.example.com", "-gone"}},
		{name: "nor deleted", existing: &corev1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: ShadowName("acme")}, Spec: corev1alpha1.AccountSpec{Type: corev1alpha1.TypeAccount}}, want: "nothing"},
		{name: "terminating: its ServiceInstances go first", existing: terminating(), instances: []string{"db.example.com"}, want: "nothing", wantInstances: []string{"-db.example.com"}},
		{name: "terminating, even while needed", bindings: []consumerBinding{{"team", boundBinding("db")}}, dedicated: true,
			existing: terminating(), instances: []string{"db.example.com"}, want: "nothing", wantInstances: []string{"-db.example.com"}},
		{name: "terminating: a ServiceInstance held by its provider's finalizer waits", existing: terminating(), instances: []string{"~db.example.com"}, want: "nothing"},
		{name: "terminating: once they are gone, the terminator goes", existing: terminating(), want: "released"},
		{name: "terminating without the terminator", existing: func() *corev1alpha1.Account {
			acc := terminating()
			acc.Status.Terminators = []string{"example.com/other"}
			return acc
		}(), want: "nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := "nothing"
			var created *corev1alpha1.Account
			var instances []string
			export := managedExport
			if tc.dedicated {
				export = export.DeepCopy()
				export.Spec.Service.Model = apisv1alpha1.ServiceModelDedicated
			}
			r := &shadowReconciler{
				accounts: testTree(),
				bindings: func(provider cluster.ID) []consumerBinding {
					require.Equal(t, cluster.ID("prov"), provider)
					return tc.bindings
				},
				managed: func(*apisv1alpha1.APIBinding) (*apisv1alpha1.APIExport, bool) { return export, true },
				account: func(parent cluster.ID, name string) (*corev1alpha1.Account, bool) {
					return tc.existing, tc.existing != nil && parent == "prov" && name == tc.existing.Name
				},
				instances: func(shadow cluster.ID) []*apisv1alpha1.ServiceInstance {
					require.Equal(t, cluster.ID("shadowid"), shadow)
					var out []*apisv1alpha1.ServiceInstance
					for _, name := range tc.instances {
						si := &apisv1alpha1.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: name}}
						if n, ok := strings.CutPrefix(name, "~"); ok {
							si.Name, si.DeletionTimestamp = n, &metav1.Time{}
						}
						out = append(out, si)
					}
					return out
				},
				createInstance: func(_ context.Context, _ cluster.ID, si *apisv1alpha1.ServiceInstance) error {
					require.Equal(t, apisv1alpha1.ServiceInstanceSpec{Export: si.Name,
						Consumer: apisv1alpha1.ServiceInstanceConsumer{Path: "root:acme", ClusterID: "acme"}}, si.Spec)
					instances = append(instances, "+"+si.Name)
					return nil
				},
				deleteInstance: func(_ context.Context, _ cluster.ID, si *apisv1alpha1.ServiceInstance) error {
					instances = append(instances, "-"+si.Name)
					return nil
				},
				create: func(_ context.Context, _ cluster.ID, acc *corev1alpha1.Account) error {
					got, created = "created", acc
					return nil
				},
				update: func(_ context.Context, _ cluster.ID, acc *corev1alpha1.Account) error {
					require.Equal(t, "db.example.com", acc.Annotations[corev1alpha1.ServiceExportsAnnotation])
					got = "updated"
					return nil
				},
				delete: func(context.Context, cluster.ID, *corev1alpha1.Account) error { got = "deleted"; return nil },
				updateStatus: func(_ context.Context, parent cluster.ID, acc *corev1alpha1.Account) error {
					require.Equal(t, cluster.ID("prov"), parent)
					require.Equal(t, []string{"example.com/other"}, acc.Status.Terminators, "only the platform's terminator goes")
					got = "released"
					return nil
				},
			}
			require.NoError(t, r.reconcile(t.Context(), "prov", "acme"))
			require.Equal(t, tc.want, got)
			slices.Sort(instances)
			require.Equal(t, tc.wantInstances, instances)
			if created != nil {
				require.Equal(t, ShadowName("acme"), created.Name)
				require.Equal(t, corev1alpha1.TypeShadow, created.Spec.Type)
				require.Equal(t, "acme", created.Labels[corev1alpha1.ConsumerOrgLabel])
				require.Equal(t, "prov-owner", created.Spec.Owner)
			}
		})
	}
}

func TestReconcileTenantSpace(t *testing.T) {
	t.Parallel()
	ns := func(label string, owned bool) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "db-example-com", Labels: map[string]string{}}}
		if label != "" {
			m.Labels[apisv1alpha1.TenantSpaceLabel] = label
		}
		if owned {
			m.OwnerReferences = []metav1.OwnerReference{{UID: "uid-name"}}
		}
		return m
	}
	for _, tc := range []struct {
		name      string
		shadow    *corev1alpha1.Account
		namespace *metav1.PartialObjectMetadata
		reason    string
		created   bool
		adopted   bool
	}{
		{name: "connected", shadow: shadowOf("acme", "", corev1alpha1.AccountPhaseReady), namespace: ns("db", true), reason: apisv1alpha1.BindingReasonConnected},
		{name: "creates the tenant space", shadow: shadowOf("acme", "", corev1alpha1.AccountPhaseReady), reason: apisv1alpha1.BindingReasonTenantSpacePending, created: true},
		{name: "adopts its labelled tenant space", shadow: shadowOf("acme", "", corev1alpha1.AccountPhaseReady), namespace: ns("db", false), reason: apisv1alpha1.BindingReasonConnected, adopted: true},
		{name: "a conflict wins over a pending shadow account", shadow: shadowOf("acme", "", corev1alpha1.AccountPhaseInitializing), namespace: ns("", false), reason: apisv1alpha1.BindingReasonTenantSpaceConflict},
		{name: "another binding's tenant space", shadow: shadowOf("acme", "", corev1alpha1.AccountPhaseReady), namespace: ns("other", true), reason: apisv1alpha1.BindingReasonTenantSpaceConflict},
		{name: "shadow account pending", shadow: shadowOf("acme", "", corev1alpha1.AccountPhaseInitializing), namespace: ns("db", true), reason: apisv1alpha1.BindingReasonShadowAccountPending},
		{name: "a foreign account holds the shadow's name", shadow: &corev1alpha1.Account{Spec: corev1alpha1.AccountSpec{Type: corev1alpha1.TypeAccount}}, namespace: ns("db", true), reason: apisv1alpha1.BindingReasonShadowAccountConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var written *apisv1alpha1.APIBinding
			var created, adopted bool
			r := &bindingReconciler{
				accounts: testTree(),
				managed:  func(*apisv1alpha1.APIBinding) (*apisv1alpha1.APIExport, bool) { return managedExport, true },
				account: func(parent cluster.ID, name string) (*corev1alpha1.Account, bool) {
					return tc.shadow, parent == "prov" && name == ShadowName("acme")
				},
				namespace: func(id cluster.ID, name string) (*metav1.PartialObjectMetadata, bool) {
					require.Equal(t, cluster.ID("team"), id)
					require.Equal(t, "db-example-com", name)
					return tc.namespace, tc.namespace != nil
				},
				createNamespace: func(_ context.Context, _ cluster.ID, n *corev1.Namespace) error {
					require.Equal(t, "db", n.Labels[apisv1alpha1.TenantSpaceLabel])
					require.Equal(t, "APIBinding", n.OwnerReferences[0].Kind)
					created = true
					return nil
				},
				addOwner: func(context.Context, cluster.ID, *metav1.PartialObjectMetadata, metav1.OwnerReference) error {
					adopted = true
					return nil
				},
				updateStatus: func(_ context.Context, _ cluster.ID, b *apisv1alpha1.APIBinding) error {
					written = b
					return nil
				},
			}
			b := boundBinding("db")
			require.NoError(t, r.reconcile(t.Context(), "team", b))
			require.NotNil(t, written)
			c := meta.FindStatusCondition(written.Status.Conditions, apisv1alpha1.BindingConditionServiceConnected)
			require.Equal(t, tc.reason, c.Reason, c.Message)
			require.Equal(t, tc.created, created)
			require.Equal(t, tc.adopted, adopted)
			if tc.reason == apisv1alpha1.BindingReasonConnected {
				require.Equal(t, metav1.ConditionTrue, c.Status)
				require.Equal(t, &apisv1alpha1.TenantSpace{Namespace: "db-example-com"}, written.Status.TenantSpace)
				require.Equal(t, "shadowid", written.Status.ShadowAccount.ClusterID)
			} else {
				require.Equal(t, metav1.ConditionFalse, c.Status)
			}
		})
	}
}

func TestInstanceReady(t *testing.T) {
	t.Parallel()
	dedicated := managedExport.DeepCopy()
	dedicated.Spec.Service.Model = apisv1alpha1.ServiceModelDedicated
	ready := func(status metav1.ConditionStatus, reason string) *apisv1alpha1.ServiceInstance {
		return &apisv1alpha1.ServiceInstance{Status: apisv1alpha1.ServiceInstanceStatus{
			Conditions: []metav1.Condition{{Type: apisv1alpha1.ServiceInstanceConditionReady, Status: status, Reason: reason, Message: "m"}}}}
	}
	for _, tc := range []struct {
		name     string
		export   *apisv1alpha1.APIExport
		shadow   bool
		instance *apisv1alpha1.ServiceInstance
		// want is the condition's status and reason, empty when there is none.
		want string
	}{
		{name: "Shared services have none", export: managedExport, shadow: true, want: ""},
		{name: "no shadow account yet", export: dedicated, want: "False/InstancePending"},
		{name: "no instance yet", export: dedicated, shadow: true, want: "False/InstancePending"},
		{name: "no report yet", export: dedicated, shadow: true, instance: &apisv1alpha1.ServiceInstance{}, want: "False/InstancePending"},
		{name: "deploying", export: dedicated, shadow: true, instance: ready(metav1.ConditionFalse, "Deploying"), want: "False/Deploying"},
		{name: "ready", export: dedicated, shadow: true, instance: ready(metav1.ConditionTrue, "Deployed"), want: "True/Deployed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &bindingReconciler{instance: func(shadow cluster.ID, name string) (*apisv1alpha1.ServiceInstance, bool) {
				require.Equal(t, cluster.ID("shadowid"), shadow)
				require.Equal(t, tc.export.Name, name)
				return tc.instance, tc.instance != nil
			}}
			b := boundBinding("db")
			b.Status.Conditions = []metav1.Condition{{Type: apisv1alpha1.BindingConditionInstanceReady, Status: metav1.ConditionTrue, Reason: "Old"}}
			if tc.shadow {
				b.Status.ShadowAccount = &apisv1alpha1.ShadowAccountReference{ClusterID: "shadowid"}
			}
			r.instanceReady(b, tc.export)
			got := ""
			if c := meta.FindStatusCondition(b.Status.Conditions, apisv1alpha1.BindingConditionInstanceReady); c != nil {
				got = string(c.Status) + "/" + c.Reason
			}
			require.Equal(t, tc.want, got)
		})
	}
}
